// lock(name, fn): the safe way to hold a platform lock. A lease of our own
// choosing (so every step is idempotent and survives failover), kept alive
// while fn runs; fn gets the fence {lock, token} to present on its writes and
// a signal that fires if the lease is lost; release and revoke run whatever
// fn does. Losing the lease mid-fn is reported even if fn succeeded, because
// exclusion was not guaranteed for the whole of it.
import { CairnAbortError, throwIfAborted } from "./errors.js";
import type { LeaseApi } from "./lease.js";
import { randomLeaseId } from "./lease.js";
import type { LocksApi } from "./locks.js";

/** What a write presents to prove it still holds the lock (a resource Fence). */
export interface LockFence {
  readonly lock: string;
  readonly token: number;
}

export interface LockContext extends LockFence {
  readonly leaseId: number;
  /** Aborted when the lease is lost (or the caller's signal fires): stop and do not write. */
  readonly signal: AbortSignal;
}

export interface LockOptions {
  /** TTL of the lock's lease: how long the lock outlives a crashed holder. Default 10 s. */
  readonly ttlSeconds?: number;
  /** How long to wait in line; default 60 s. */
  readonly waitMs?: number;
  readonly signal?: AbortSignal;
}

export const DEFAULT_LOCK_TTL_SECONDS = 10;
export const DEFAULT_LOCK_WAIT_MS = 60_000;

export interface LockDeps {
  readonly lease: LeaseApi;
  readonly locks: LocksApi;
}

export async function withLock<T>(
  deps: LockDeps,
  name: string,
  fn: (context: LockContext) => Promise<T> | T,
  options: LockOptions = {},
): Promise<T> {
  throwIfAborted(options.signal);
  const signalOption = options.signal === undefined ? {} : { signal: options.signal };
  const ttlSeconds = options.ttlSeconds ?? DEFAULT_LOCK_TTL_SECONDS;
  const grant = await deps.lease.grant(ttlSeconds, { ...signalOption, id: randomLeaseId() });
  const keepAlive = deps.lease.keepAlive(grant.id, grant.ttlSeconds);
  let token = 0;
  try {
    const acquired = await deps.locks.acquire(name, {
      ...signalOption,
      leaseId: grant.id,
      timeoutMs: options.waitMs ?? DEFAULT_LOCK_WAIT_MS,
    });
    if (!acquired.acquired || acquired.token <= 0) {
      throw new Error(`lock ${JSON.stringify(name)}: the server answered without granting it`);
    }
    token = acquired.token;
    const signal =
      options.signal === undefined
        ? keepAlive.signal
        : AbortSignal.any([keepAlive.signal, options.signal]);
    const result = await fn({ lock: name, token, leaseId: grant.id, signal });
    if (keepAlive.lost) throw keepAlive.signal.reason;
    if (options.signal?.aborted === true) throw new CairnAbortError(options.signal.reason);
    return result;
  } finally {
    keepAlive.stop();
    // Cleanup runs without the caller's signal: an aborted caller still must not leave a hold.
    if (token > 0) await deps.locks.release(name, grant.id, { token }).catch(() => {});
    // Revoking also withdraws a place still in line; if it fails the TTL ends it.
    await deps.lease.revoke(grant.id).catch(() => {});
  }
}
