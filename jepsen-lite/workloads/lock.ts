// lock: workers take one v3lock lock on a short lease, write to a harness-side
// resource, and release. Fenced, the resource accepts only tokens (the lock
// key's create revision) >= the highest it has seen; unfenced, it accepts
// everything. Sometimes a holder stalls past its lease (a client GC pause),
// so an unfenced run is expected to show a stale holder's write.
// History: acquire → ok {token, key, lease}; write {token} → ok (accepted) or
// fail (rejected by the fence); release {token} → ok or info.
import { LEASE_SERVICE } from "../../src/server/lease/lease-service.js";
import { LOCK_SERVICE } from "../../src/server/lock/lock-service.js";
import { KV_SERVICE } from "../../src/server/services.js";
import type {
  LockHold as CheckerLockHold,
  LockLog as CheckerLockLog,
  ResourceWrite,
} from "../checker/lock.js";
import type { History } from "../runner/history.js";
import { bytes, describeError } from "./endpoints.js";
import { endpointChooser, sleep, type Workload, type WorkloadContext } from "./workload.js";

export interface LockOptions {
  readonly fenced: boolean;
  readonly workers: number;
  readonly leaseTtlSeconds: number;
  /** How long a Lock call may wait in the queue before it counts as info. */
  readonly lockWaitMs: number;
  /** Chance a holder stalls for the lease TTL + 1.5 s before writing. */
  readonly stallProbability: number;
  readonly opsPerWorkerMax: number;
}

export const LOCK_DEFAULTS: LockOptions = {
  fenced: true,
  workers: 4,
  leaseTtlSeconds: 3,
  lockWaitMs: 4_000,
  stallProbability: 0.1,
  opsPerWorkerMax: 10_000,
};

/**
 * The resource's log (checker/lock.ts's LockLog): every hold, and every write
 * attempt in the order the resource handled it. A hold also records when its
 * lease was asked for, which checker/lock-exclusion.ts needs.
 */
export interface LockHold extends CheckerLockHold {
  /** When the holder asked for its lease (before the grant call). */
  readonly leaseRequestedAt: number;
  /** When the release was sent; absent if it never was. */
  releasedAt?: number;
}

export type { ResourceWrite };

export interface LockLog extends CheckerLockLog {
  readonly holds: readonly LockHold[];
}

/** Bounds the resource's attempt log (a run of hours at most reaches thousands). */
const RESOURCE_WRITES_MAX = 200_000;

export interface AcceptedWrite {
  readonly token: number;
  readonly holder: number;
  readonly acquiredAt: number;
  readonly writtenAt: number;
  releasedAt: number | null;
}

/** The guarded resource: fenced, it refuses tokens below the highest seen. */
export class FencedResource {
  readonly accepted: AcceptedWrite[] = [];
  readonly attempts: ResourceWrite[] = [];
  rejected = 0;
  private highestToken = 0;

  constructor(readonly fenced: boolean) {}

  write(token: number, holder: number, acquiredAt: number, now: number): AcceptedWrite | null {
    const accepted = !this.fenced || token >= this.highestToken;
    if (this.attempts.length < RESOURCE_WRITES_MAX) {
      this.attempts.push({ time: now, process: holder, token, accepted });
    }
    if (!accepted) {
      this.rejected++;
      return null;
    }
    this.highestToken = Math.max(this.highestToken, token);
    const write: AcceptedWrite = { token, holder, acquiredAt, writtenAt: now, releasedAt: null };
    this.accepted.push(write);
    return write;
  }
}

const ACCEPTED_IN_SUMMARY_MAX = 2_000;

export class LockWorkload implements Workload {
  readonly name: string;
  readonly resource: FencedResource;
  private readonly counts = { acquired: 0, acquireInfo: 0, stalls: 0 };
  private readonly holds: LockHold[] = [];

  constructor(private readonly options: LockOptions = LOCK_DEFAULTS) {
    this.name = options.fenced ? "lock" : "lock-unfenced";
    this.resource = new FencedResource(options.fenced);
  }

  async run(ctx: WorkloadContext): Promise<void> {
    await Promise.all(
      Array.from({ length: this.options.workers }, (_, w) => this.worker(ctx, w, ctx.rng.fork())),
    );
  }

  get fenced(): boolean {
    return this.options.fenced;
  }

  /** What the resource saw, for checker/lock.ts (checkLock(log, { fenced })). */
  get leaseTtlMs(): number {
    return this.options.leaseTtlSeconds * 1000;
  }

  lockLog(): LockLog {
    return { holds: this.holds, writes: this.resource.attempts };
  }

  summary(): Record<string, unknown> {
    return {
      fenced: this.options.fenced,
      ...this.counts,
      acceptedWrites: this.resource.accepted.length,
      rejectedWrites: this.resource.rejected,
      accepted: this.resource.accepted.slice(0, ACCEPTED_IN_SUMMARY_MAX),
    };
  }

  private async worker(
    ctx: WorkloadContext,
    w: number,
    rng: WorkloadContext["rng"],
  ): Promise<void> {
    const endpoint = endpointChooser(w, ctx.endpoints.names, rng);
    const f = this.name;
    for (let n = 0; n < this.options.opsPerWorkerMax && !ctx.signal.aborted; n++) {
      if (ctx.history.full) return;
      // Every session is its own process: a holder is one process from acquire to release.
      const process = ctx.history.newProcess();
      const node = endpoint.choose();
      const held = await this.acquire(ctx, process, node, `${f}:acquire`);
      if (held === null) {
        this.counts.acquireInfo++;
        await sleep(ctx.opGapMs, ctx.signal);
        continue;
      }
      this.counts.acquired++;
      const hold: LockHold = {
        process,
        token: held.token,
        leaseRequestedAt: held.leaseRequestedAt,
        acquiredAt: held.acquiredAt,
      };
      if (this.holds.length < RESOURCE_WRITES_MAX) this.holds.push(hold);
      await sleep(rng.between(10, 100));
      if (rng.next() < this.options.stallProbability) {
        this.counts.stalls++;
        await sleep(this.options.leaseTtlSeconds * 1000 + 1500);
      }
      const value = { token: held.token };
      ctx.history.record({ process, type: "invoke", f: `${f}:write`, value, node });
      const write = this.resource.write(held.token, process, held.acquiredAt, ctx.history.now());
      ctx.history.record({
        process,
        type: write === null ? "fail" : "ok",
        f: `${f}:write`,
        value,
        node,
      });
      await sleep(rng.between(10, 50));
      const releasedAt = ctx.history.now();
      hold.releasedAt = releasedAt;
      if (write !== null) write.releasedAt = releasedAt;
      await this.release(ctx, process, node, held, `${f}:release`);
      await sleep(rng.between(0.5, 1.5) * ctx.opGapMs, ctx.signal);
    }
  }

  private async acquire(
    ctx: WorkloadContext,
    process: number,
    node: string,
    f: string,
  ): Promise<{
    token: number;
    key: Uint8Array;
    lease: number;
    leaseRequestedAt: number;
    acquiredAt: number;
  } | null> {
    const { history, endpoints, opTimeoutMs } = ctx;
    history.record({ process, type: "invoke", f, node });
    const leaseRequestedAt = history.now();
    let lease = 0;
    try {
      const grant = await endpoints.call(
        node,
        LEASE_SERVICE.LeaseGrant,
        { ID: ctx.nextLeaseId(), TTL: this.options.leaseTtlSeconds },
        opTimeoutMs,
      );
      lease = Number(grant.ID);
      const locked = await endpoints.call(
        node,
        LOCK_SERVICE.Lock,
        { name: bytes("jepsen-lock"), lease },
        this.options.lockWaitMs,
      );
      const range = await endpoints.call(node, KV_SERVICE.Range, { key: locked.key }, opTimeoutMs);
      const token = Number(range.kvs[0]?.createRevision ?? 0);
      if (token === 0) throw new Error("lock key vanished before its token was read");
      const acquiredAt = history.now();
      history.record({ process, type: "ok", f, value: { token, lease }, node });
      return { token, key: locked.key, lease, leaseRequestedAt, acquiredAt };
    } catch (error) {
      history.record({ process, type: "info", f, node, error: describeError(error) });
      // A timed-out Lock may still be granted later: revoke so it cannot linger.
      if (lease !== 0) void revoke(ctx, node, lease);
      return null;
    }
  }

  private async release(
    ctx: WorkloadContext,
    process: number,
    node: string,
    held: { token: number; key: Uint8Array; lease: number },
    f: string,
  ): Promise<void> {
    const history: History = ctx.history;
    const value = { token: held.token };
    history.record({ process, type: "invoke", f, value, node });
    try {
      await ctx.endpoints.call(node, LOCK_SERVICE.Unlock, { key: held.key }, ctx.opTimeoutMs);
      history.record({ process, type: "ok", f, value, node });
    } catch (error) {
      history.record({ process, type: "info", f, value, node, error: describeError(error) });
    }
    await revoke(ctx, node, held.lease);
  }
}

async function revoke(ctx: WorkloadContext, node: string, lease: number): Promise<void> {
  try {
    await ctx.endpoints.call(node, LEASE_SERVICE.LeaseRevoke, { ID: lease }, ctx.opTimeoutMs);
  } catch {
    // The lease expires on its own within its TTL.
  }
}
