// cairn.v1.Locks: fair FIFO locks bound to leases, with fencing tokens.
// Acquire proposes its place in line, then waits on this member's applied
// state, woken by the lock's own changes (lock-waits.ts), until its lease
// holds the lock. On deadline or cancel it withdraws with lock-release (and
// revokes the lease it granted for the call), so an abandoned place never
// reaches the head of the line and blocks everyone behind it.
import type { Server } from "@grpc/grpc-js";
import { cairn } from "../../gen/cairn.js";
import type { ApplyResult, LockAcquireResult } from "../../state/index.js";
import { LOCK_NAME } from "../../state/platform/resource-validate.js";
import { addTypedService, unaryMethod } from "../../transport/grpc-codec.js";
import { assertNever } from "../../util/assert.js";
import { CairnError } from "../errors.js";
import { isLeaseId } from "../lease/ttl.js";
import { SESSION_TTL_SECONDS } from "../lock/queue-claim.js";
import { requireGrant } from "./auth.js";
import { currentHeader, header, type PlatformDeps } from "./deps.js";
import { LockWaits } from "./lock-waits.js";
import { authedUnary, type CallContext } from "./platform-call.js";
import { holderToProto, waiterToProto } from "./platform-codec.js";
import { expectResult, invalid } from "./platform-errors.js";

export const LOCKS_SERVICE = {
  Acquire: unaryMethod(
    "/cairn.v1.Locks/Acquire",
    cairn.v1.AcquireLockRequest,
    cairn.v1.AcquireLockResponse,
  ),
  TryAcquire: unaryMethod(
    "/cairn.v1.Locks/TryAcquire",
    cairn.v1.AcquireLockRequest,
    cairn.v1.AcquireLockResponse,
  ),
  Release: unaryMethod(
    "/cairn.v1.Locks/Release",
    cairn.v1.ReleaseLockRequest,
    cairn.v1.ReleaseLockResponse,
  ),
  Get: unaryMethod("/cairn.v1.Locks/Get", cairn.v1.GetLockRequest, cairn.v1.GetLockResponse),
};

type AcquireResponse = cairn.v1.AcquireLockResponse.$Properties;

export function checkLockName(name: string): void {
  if (!LOCK_NAME.test(name)) {
    throw invalid(
      `lock.name must be 1..256 characters of [A-Za-z0-9._/:-], got ${JSON.stringify(name)}`,
    );
  }
}

/**
 * The TTL of a lease granted for a lock or a member (lease_id 0): 0 means the
 * recipes' session default, and anything shorter than the lease minimum is
 * raised to it, so the lease outlives an ordinary leader election.
 */
export function grantTtlSeconds(leaseId: number, requested: number, minSeconds: number): number {
  if (leaseId !== 0) {
    if (!isLeaseId(leaseId))
      throw invalid(`lease_id must be 0 (grant one) or a lease id, got ${leaseId}`);
    return 0;
  }
  if (!(Number.isSafeInteger(requested) && requested >= 0)) {
    throw invalid(
      `ttl_seconds must be 0 (default ${SESSION_TTL_SECONDS}) or positive, got ${requested}`,
    );
  }
  return Math.max(requested === 0 ? SESSION_TTL_SECONDS : requested, minSeconds);
}

export interface LocksOptions {
  /**
   * Test-only planted bug (--unsafe early-lock-grant): a queued Acquire is
   * answered "acquired" at once, with the revision of its place in line as a
   * made-up token (fenced writes with it are refused: the state machine knows).
   */
  readonly earlyGrant?: boolean;
}

export class LockHandlers {
  private readonly waits: LockWaits;

  constructor(
    private readonly deps: PlatformDeps,
    private readonly options: LocksOptions = {},
  ) {
    this.waits = new LockWaits(deps.feed);
  }

  private get platform() {
    return this.deps.node.stateMachine.platform;
  }

  async acquire(
    request: cairn.v1.AcquireLockRequest,
    context: CallContext,
    wait: boolean,
  ): Promise<AcquireResponse> {
    requireGrant(context.caller, "lock.write");
    checkLockName(request.name);
    const ttlSeconds = grantTtlSeconds(
      request.leaseId,
      request.ttlSeconds,
      this.deps.leaseTtlMinSeconds,
    );
    if (!(Number.isSafeInteger(request.timeoutMs) && request.timeoutMs >= 0)) {
      throw invalid(
        `timeout_ms must be 0 (the call's deadline) or positive, got ${request.timeoutMs}`,
      );
    }
    this.deps.gate.admit("write");
    const result = await this.deps.node.propose({
      kind: "lock-acquire",
      actor: context.caller.username,
      name: request.name,
      leaseId: request.leaseId,
      ttlSeconds,
      wait,
    });
    const { ok } = expectResult(result, "lock-acquire");
    switch (ok.state) {
      case "held":
        // Cancelled while proposing: nobody would learn of a lease granted for this call.
        if (context.signal.aborted && request.leaseId === 0) {
          await this.withdraw(context.caller.username, ok, true);
          throw context.signal.reason;
        }
        return this.acquired(ok.name, ok.revision, ok.leaseId, ok.token);
      case "busy":
        return {
          header: header(this.deps, ok.revision),
          acquired: false,
          leaseId: ok.leaseId,
          ...(ok.holder === null ? {} : { holder: holderToProto(ok.holder) }),
        };
      case "queued":
        if (this.options.earlyGrant === true) {
          return this.acquired(ok.name, ok.revision, ok.leaseId, ok.revision);
        }
        return this.waitInLine(request, ok, context, ttlSeconds);
      default:
        return assertNever(ok.state, "lock acquire state");
    }
  }

  async release(
    request: cairn.v1.ReleaseLockRequest,
    { caller }: CallContext,
  ): Promise<cairn.v1.ReleaseLockResponse.$Properties> {
    requireGrant(caller, "lock.write");
    checkLockName(request.name);
    this.deps.gate.admit("delete");
    const result = await this.deps.node.propose({
      kind: "lock-release",
      actor: caller.username,
      name: request.name,
      leaseId: request.leaseId,
      token: request.token,
    });
    const { ok } = expectResult(result, "lock-release");
    const handedTo = ok.released === "holder" ? ok.holder : null;
    return {
      header: header(this.deps, ok.revision),
      ...(handedTo === null ? {} : { nextHolder: holderToProto(handedTo) }),
    };
  }

  async get(
    request: cairn.v1.GetLockRequest,
    { caller }: CallContext,
  ): Promise<cairn.v1.GetLockResponse.$Properties> {
    requireGrant(caller, "lock.read");
    checkLockName(request.name);
    const lock = this.platform.getLock(request.name);
    if (lock === undefined) return { header: currentHeader(this.deps), held: false, waiters: [] };
    return {
      header: currentHeader(this.deps),
      held: true,
      holder: holderToProto(lock.holder),
      waiters: lock.waiters.map(waiterToProto),
    };
  }

  private acquired(
    name: string,
    revision: number,
    leaseId: number,
    token: number,
  ): AcquireResponse {
    const holder = this.platform.getLock(name)?.holder;
    return {
      header: header(this.deps, revision),
      acquired: true,
      token,
      leaseId,
      ...(holder === undefined ? {} : { holder: holderToProto(holder) }),
    };
  }

  /** Waits until the queued lease holds the lock; withdraws its place if the wait fails. */
  private async waitInLine(
    request: cairn.v1.AcquireLockRequest,
    queued: LockAcquireResult,
    { caller, signal: callSignal }: CallContext,
    ttlSeconds: number,
  ): Promise<AcquireResponse> {
    const startedMs = Date.now();
    const keepAlive = request.leaseId === 0 ? this.keepAlive(queued.leaseId, ttlSeconds) : null;
    const controller = new AbortController();
    const onCallAbort = (): void => controller.abort(callSignal.reason);
    callSignal.addEventListener("abort", onCallAbort, { once: true });
    if (callSignal.aborted) onCallAbort(); // cancelled while the acquire was being proposed
    const timer =
      request.timeoutMs > 0
        ? setTimeout(() => controller.abort(new CairnError("DEADLINE_EXCEEDED")), request.timeoutMs)
        : null;
    try {
      const token = await this.untilHeld(queued.name, queued.leaseId, controller.signal);
      const revision = this.deps.node.stateMachine.kv.revision;
      return this.acquired(queued.name, revision, queued.leaseId, token);
    } catch (error) {
      await this.withdraw(caller.username, queued, request.leaseId === 0);
      if (error instanceof CairnError && error.code === "DEADLINE_EXCEEDED") {
        throw new CairnError(
          "DEADLINE_EXCEEDED",
          `lock ${JSON.stringify(queued.name)} was not acquired within ${Date.now() - startedMs} ms; its place in line was withdrawn`,
        );
      }
      throw error;
    } finally {
      if (timer !== null) clearTimeout(timer);
      if (keepAlive !== null) clearInterval(keepAlive);
      callSignal.removeEventListener("abort", onCallAbort);
    }
  }

  /**
   * The client learns a lease granted for it only from the answer, so while
   * the call waits in line the member renews that lease itself (3 times per TTL).
   */
  private keepAlive(leaseId: number, ttlSeconds: number): NodeJS.Timeout {
    const ignore = (): void => undefined;
    return setInterval(
      () => this.deps.node.propose({ kind: "lease-renew", leaseId }).then(ignore, ignore),
      (ttlSeconds * 1000) / 3,
    );
  }

  private async untilHeld(name: string, leaseId: number, signal: AbortSignal): Promise<number> {
    for (;;) {
      const standing = this.platform.locks.standing(name, leaseId);
      switch (standing.kind) {
        case "holder":
          return standing.token;
        case "waiter":
          await this.waits.next(name, signal);
          break;
        case "absent":
          throw new CairnError(
            "FAILED_PRECONDITION",
            `lease ${leaseId} lost its place in line for lock ${JSON.stringify(name)}: the lease expired or was revoked`,
          );
        default:
          return assertNever(standing, "lock standing");
      }
    }
  }

  /** Best effort: the wait's own failure is what the caller must see. */
  private async withdraw(
    actor: string,
    { name, leaseId }: LockAcquireResult,
    leaseGranted: boolean,
  ): Promise<void> {
    const ignore = (_result: ApplyResult | undefined): void => undefined;
    // Token 0: if the lease became the holder meanwhile, nobody will learn it, so it lets go too.
    if (this.platform.locks.standing(name, leaseId).kind !== "absent") {
      await this.deps.node
        .propose({ kind: "lock-release", actor, name, leaseId, token: 0 })
        .then(ignore, ignore);
    }
    if (leaseGranted) {
      await this.deps.node.propose({ kind: "lease-revoke", leaseId }).then(ignore, ignore);
    }
  }
}

export function registerLocksService(
  server: Server,
  deps: PlatformDeps,
  options: LocksOptions = {},
): void {
  const handlers = new LockHandlers(deps, options);
  addTypedService(server, LOCKS_SERVICE, {
    Acquire: authedUnary(deps, (r, c) => handlers.acquire(r, c, true)),
    TryAcquire: authedUnary(deps, (r, c) => handlers.acquire(r, c, false)),
    Release: authedUnary(deps, (r, c) => handlers.release(r, c)),
    Get: authedUnary(deps, (r, c) => handlers.get(r, c)),
  });
}
