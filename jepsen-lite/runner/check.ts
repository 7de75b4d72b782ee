// The one call site of the checkers: the runner hands the whole history and
// the workload names here and gets one validity per checker plus the
// overall one. Register: the Wing-Gong/Lowe linearizability search; lock:
// fencing; lease: expiry bounds; watch: etcd's watch guarantees; platform:
// the op log against the acknowledged updates.
import {
  checkLease,
  checkLinearizable,
  checkLock,
  checkPlatform,
  checkWatch,
  leaseTracksFromHistory,
} from "../checker/index.js";
import type { LeaderSample } from "../checker/lease.js";
import { checkLockExclusion } from "../checker/lock-exclusion.js";
import { pairHistory } from "../history/index.js";
import type { LockLog } from "../workloads/lock.js";
import { type PlatformObserved, platformInput } from "../workloads/platform.js";
import type { WatchObserved } from "../workloads/watch.js";
import type { HistoryOp } from "./history.js";
import {
  type CheckerResult,
  type DetailedResult,
  unknownResult,
  type Validity,
} from "./results.js";

/** Lease bounds: the client's clock versus the leader's, and message delays. */
const LEASE_EPSILON_MS = 500;

export interface CheckResult {
  readonly valid: Validity;
  readonly checkers: Record<string, CheckerResult>;
}

/** false beats unknown beats true. */
export function combine(results: readonly Validity[]): Validity {
  if (results.includes(false)) return false;
  if (results.includes("unknown")) return "unknown";
  return true;
}

/** What the workloads observed outside the history, for checkers that need it. */
export interface Observed {
  /** Per lock workload ("lock", "lock-unfenced"): the resource's log. */
  readonly locks: Readonly<
    Record<
      string,
      { readonly fenced: boolean; readonly log: LockLog; readonly leaseTtlMs?: number }
    >
  >;
  /** The members' election timeout, for lease expiry bounds. */
  readonly electionTimeoutMs: number;
  /**
   * Leader presence through the run (runner/leader-samples.ts): only a leader
   * expires leases, in cairn as in etcd, so a lease's upper bound counts from
   * the first moment after its expiry that a leader was there.
   */
  readonly leaderSamples?: readonly LeaderSample[];
  /** etcd refreshes every lease when a new leader takes over; cairn does not. */
  readonly leaseRefreshOnLeaderChange?: boolean;
  /** The watch workload's acknowledged writes and watcher sessions. */
  readonly watch?: WatchObserved;
  /** The platform workload's op log and final versions, read after the heal. */
  readonly platform?: PlatformObserved;
}

/**
 * The stand-ins read the history (and the watch log); the real checkers also
 * need `_observed` (checker/lock.ts the resource log, checker/lease.ts the
 * election timeout, checker/watch.ts the watch log).
 */
export async function check(
  history: readonly HistoryOp[],
  workloads: readonly string[],
  observed: Observed = { locks: {}, electionTimeoutMs: 1_000 },
): Promise<CheckResult> {
  const checkers: Record<string, CheckerResult> = {};
  for (const workload of workloads) {
    switch (workload) {
      case "register":
        checkers.register = checkLinearizable(history);
        break;
      case "lock":
      case "lock-unfenced": {
        const lock = observed.locks[workload];
        if (lock === undefined) {
          checkers[workload] = unknownResult(`no resource log for ${workload}`);
          break;
        }
        checkers[workload] = checkLock(lock.log, { fenced: lock.fenced });
        if (lock.leaseTtlMs !== undefined) {
          // Fencing keeps the data safe even when exclusion fails; this checks exclusion itself.
          checkers[`${workload}-exclusion`] = checkLockExclusion(lock.log.holds, {
            leaseTtlMs: lock.leaseTtlMs,
            epsilonMs: LEASE_EPSILON_MS,
          });
        }
        break;
      }
      case "lease":
        checkers.lease = checkLease(leaseTracksFromHistory(pairHistory(history)), {
          electionTimeoutMs: observed.electionTimeoutMs,
          epsilonMs: LEASE_EPSILON_MS,
          ...(observed.leaderSamples === undefined
            ? {}
            : { leaderSamples: observed.leaderSamples }),
          refreshOnLeaderChange: observed.leaseRefreshOnLeaderChange === true,
        });
        break;
      case "watch":
        checkers.watch =
          observed.watch === undefined
            ? unknownResult("no watch log")
            : checkWatch(observed.watch.writes, observed.watch.watchers);
        break;
      case "platform":
        checkers.platform = checkPlatformRun(history, observed.platform);
        break;
      default:
        checkers[workload] = unknownResult(`no checker for ${workload}`);
    }
  }
  return { valid: combine(Object.values(checkers).map((c) => c.valid)), checkers };
}

/** Unknown without the op log, or when no update was acknowledged (nothing to hold it to). */
function checkPlatformRun(
  history: readonly HistoryOp[],
  observed: PlatformObserved | undefined,
): CheckerResult {
  if (observed === undefined) {
    return unknownResult("no op log: the final step did not run (no leader after the heal?)");
  }
  if ("error" in observed) return unknownResult(`no op log: ${observed.error}`);
  const input = platformInput(history, observed);
  const result = checkPlatform(input);
  if (result.valid && !input.updates.some((u) => u.outcome === "ok")) {
    const idle: DetailedResult = {
      ...result,
      valid: "unknown",
      reason: "no update was acknowledged",
    };
    return idle;
  }
  return result;
}
