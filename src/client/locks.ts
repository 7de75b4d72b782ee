// cairn.v1.Locks: fair lease-bound locks with fencing tokens. Calls that name
// their lease are idempotent on the server (acquiring again with the same
// lease answers "already held/queued"), so they are retried across failover;
// with lease 0 the server grants a lease per call and they are plain writes.
// lock(name, fn) in with-lock.ts builds the safe pattern on top of these.
import { cairn } from "../gen/cairn.js";
import { fromLockHolder } from "./convert.js";
import { GrpcStatus, type StatusLike } from "./errors.js";
import type { CallOptions, Invoker } from "./invoker.js";
import { LOCKS } from "./platform-methods.js";
import type { AcquireResult, LockHolder, LockState } from "./types.js";

export interface AcquireOptions extends CallOptions {
  /** Bind to this lease (keep it alive); unset = the server grants one of ttlSeconds. */
  readonly leaseId?: number;
  readonly ttlSeconds?: number;
}

export interface ReleaseOptions extends CallOptions {
  /** Release only if this is still the holder's token (else ABORTED); unset = whatever the lease holds. */
  readonly token?: number;
}

function fromAcquire(response: cairn.v1.AcquireLockResponse): AcquireResult {
  const holder = fromLockHolder(response.holder);
  return {
    acquired: response.acquired,
    token: response.token,
    leaseId: response.leaseId,
    ...(holder === undefined ? {} : { holder }),
  };
}

export class LocksApi {
  constructor(private readonly invoker: Invoker) {}

  /**
   * Waits in line until held. The wait is bounded by the call's timeoutMs
   * (and signal); when it runs out the place in line is withdrawn.
   */
  async acquire(name: string, options: AcquireOptions = {}): Promise<AcquireResult> {
    const leaseId = options.leaseId ?? 0;
    const response = await this.invoker.unary(
      LOCKS.Acquire,
      { name, leaseId, ttlSeconds: options.ttlSeconds ?? 0, timeoutMs: options.timeoutMs ?? 0 },
      { ...options, safety: leaseId === 0 ? "write" : "idempotent", waits: true },
    );
    return fromAcquire(response);
  }

  /** Takes the lock only if free; `acquired: false` (with the holder) otherwise. */
  async tryAcquire(name: string, options: AcquireOptions = {}): Promise<AcquireResult> {
    const leaseId = options.leaseId ?? 0;
    const response = await this.invoker.unary(
      LOCKS.TryAcquire,
      { name, leaseId, ttlSeconds: options.ttlSeconds ?? 0 },
      { ...options, safety: leaseId === 0 ? "write" : "idempotent" },
    );
    return fromAcquire(response);
  }

  /**
   * Releases the lease's hold (handing over to the next waiter) or withdraws
   * it from the line. A retry after a lost answer that finds the lease no
   * longer holding or waiting means the first attempt worked.
   */
  async release(
    name: string,
    leaseId: number,
    options: ReleaseOptions = {},
  ): Promise<{ nextHolder?: LockHolder }> {
    const response = await this.invoker.unary(
      LOCKS.Release,
      { name, leaseId, token: options.token ?? 0 },
      {
        ...options,
        safety: "idempotent",
        appliedEarlier: (error: StatusLike) =>
          error.code === GrpcStatus.NOT_FOUND || error.code === GrpcStatus.FAILED_PRECONDITION
            ? cairn.v1.ReleaseLockResponse.create()
            : null,
      },
    );
    const next = fromLockHolder(response.nextHolder);
    return next === undefined ? {} : { nextHolder: next };
  }

  async get(name: string, options: CallOptions = {}): Promise<LockState> {
    const response = await this.invoker.unary(LOCKS.Get, { name }, { ...options, safety: "read" });
    const holder = fromLockHolder(response.holder);
    return {
      held: response.held,
      ...(holder === undefined ? {} : { holder }),
      waiters: response.waiters.map((w) => ({
        leaseId: w.leaseId ?? 0,
        owner: w.owner ?? "",
        enqueuedAtMs: w.enqueuedAtMs ?? 0,
      })),
    };
  }
}
