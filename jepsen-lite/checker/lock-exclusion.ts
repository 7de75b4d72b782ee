// Mutual exclusion judged from the holders' own clocks, for locks whose
// holder keeps no keep-alive: a lease granted at or after `leaseRequestedAt`
// cannot expire before leaseRequestedAt + TTL. So if holder B's acquire
// returned while holder A had not yet sent its release, and before A's lease
// could possibly have expired, the lock service granted B while A held a live
// lock: a violation no pause or crash can excuse. (Overlaps after A's lease
// could have lapsed are the expected price of leases; the fencing checker
// covers those.)
//
//   checkLockExclusion(holds, { leaseTtlMs, epsilonMs }): LockExclusionResult

export interface TimedHold {
  readonly process: number;
  readonly token: number;
  /** When the holder asked for its lease (before the grant call). */
  readonly leaseRequestedAt: number;
  /** When its acquire returned. */
  readonly acquiredAt: number;
  /** When it sent its release; absent if it never did. */
  readonly releasedAt?: number;
}

export interface LockExclusionOptions {
  readonly leaseTtlMs: number;
  /** Clock and delivery slack between the holders' clock and the lease's. */
  readonly epsilonMs: number;
}

export interface ExclusionViolation {
  readonly holder: { readonly process: number; readonly token: number };
  readonly intruder: { readonly process: number; readonly token: number };
  readonly description: string;
}

export interface LockExclusionResult {
  readonly valid: boolean;
  readonly checkedPairs: number;
  readonly violations: readonly ExclusionViolation[];
}

const VIOLATIONS_MAX = 20;

export function checkLockExclusion(
  holds: readonly TimedHold[],
  options: LockExclusionOptions,
): LockExclusionResult {
  const byAcquire = [...holds].sort((a, b) => a.acquiredAt - b.acquiredAt);
  const violations: ExclusionViolation[] = [];
  let checkedPairs = 0;
  for (const [i, a] of byAcquire.entries()) {
    const heldUntil = a.releasedAt ?? Number.POSITIVE_INFINITY;
    const surelyAliveUntil = a.leaseRequestedAt + options.leaseTtlMs - options.epsilonMs;
    const end = Math.min(heldUntil, surelyAliveUntil);
    for (let j = i + 1; j < byAcquire.length; j++) {
      const b = byAcquire[j];
      if (b === undefined || b.acquiredAt >= end) break;
      checkedPairs++;
      if (violations.length < VIOLATIONS_MAX) {
        violations.push({
          holder: { process: a.process, token: a.token },
          intruder: { process: b.process, token: b.token },
          description:
            `process ${b.process} acquired (token ${b.token}) at ${b.acquiredAt} ms while ` +
            `process ${a.process} (token ${a.token}) held the lock with a live lease ` +
            `(acquired ${a.acquiredAt} ms, lease alive at least until ${surelyAliveUntil} ms)`,
        });
      }
    }
  }
  return { valid: violations.length === 0, checkedPairs, violations };
}
