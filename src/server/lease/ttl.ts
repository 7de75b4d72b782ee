// etcd's request rules for LeaseGrant, checked before anything is proposed:
// which ids a client may ask for, the minimum TTL a grant is raised to (so a
// lease outlives one leader election) and the maximum TTL etcd accepts.
import { LEASE_ID_MAX } from "../../state/index.js";
import { assert } from "../../util/assert.js";
import { CairnError } from "../errors.js";

/** etcd's lease.MaxLeaseTTL: larger grants fail with "too large lease TTL". */
export const LEASE_TTL_MAX_SECONDS = 9_000_000_000;

/**
 * etcd's minimum TTL, ceil(1.5 × election timeout) in seconds (2 s at the
 * default 1000 ms): a shorter lease could expire during an ordinary election.
 */
export function minLeaseTtlSeconds(electionTimeoutMs: number): number {
  assert(
    Number.isFinite(electionTimeoutMs) && electionTimeoutMs > 0,
    `election timeout must be positive, got ${electionTimeoutMs}`,
  );
  return Math.ceil((1.5 * electionTimeoutMs) / 1000);
}

/** A lease id a client may name: positive, and exact as a JS number (int64 decodes to one). */
export function isLeaseId(id: number): boolean {
  return Number.isSafeInteger(id) && id >= 1 && id <= LEASE_ID_MAX;
}

export interface GrantPlan {
  /** 0 = let the state machine pick a free id. */
  readonly leaseId: number;
  readonly ttlSeconds: number;
}

/**
 * etcd's order: a TTL above the maximum fails before anything else, then a
 * TTL below the minimum (zero and negative included) is raised to it.
 */
export function planGrant(
  requestedId: number,
  requestedTtlSeconds: number,
  minTtlSeconds: number,
): GrantPlan {
  assert(Number.isSafeInteger(minTtlSeconds) && minTtlSeconds >= 1, "minimum TTL must be >= 1 s");
  if (requestedTtlSeconds > LEASE_TTL_MAX_SECONDS) {
    throw new CairnError("LEASE_TTL_TOO_LARGE");
  }
  if (requestedId !== 0 && !isLeaseId(requestedId)) {
    throw new CairnError(
      "INVALID_ARGUMENT",
      `etcdserver: lease ID must be 0 (server picks) or 1..${LEASE_ID_MAX}, got ${requestedId}`,
    );
  }
  const ttlSeconds = Math.max(Math.trunc(requestedTtlSeconds), minTtlSeconds);
  assert(
    ttlSeconds >= minTtlSeconds && ttlSeconds <= LEASE_TTL_MAX_SECONDS,
    "planned TTL in range",
  );
  return { leaseId: requestedId, ttlSeconds };
}
