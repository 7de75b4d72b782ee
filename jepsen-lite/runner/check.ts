// The one call site of the checkers: the runner hands the whole history and
// the workload names here and gets one validity per checker plus the
// overall one. Stand-ins for now; swap in jepsen-lite/checker/* here.
import type { LockLog } from "../workloads/lock.js";
import type { HistoryOp } from "./history.js";
import {
  type CheckerResult,
  checkLease,
  checkLock,
  checkRegister,
  unknownResult,
  type Validity,
} from "./stand-in-checkers.js";

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
  readonly locks: Readonly<Record<string, { readonly fenced: boolean; readonly log: LockLog }>>;
  /** The members' election timeout, for lease expiry bounds. */
  readonly electionTimeoutMs: number;
}

/**
 * The stand-ins read only the history; `_observed` is for the real checkers
 * (checker/lock.ts takes the resource log, checker/lease.ts the election timeout).
 */
export async function check(
  history: readonly HistoryOp[],
  workloads: readonly string[],
  _observed: Observed = { locks: {}, electionTimeoutMs: 1_000 },
): Promise<CheckResult> {
  const checkers: Record<string, CheckerResult> = {};
  for (const workload of workloads) {
    switch (workload) {
      case "register":
        checkers.register = checkRegister(history);
        break;
      case "lock":
      case "lock-unfenced":
        checkers[workload] = checkLock(history, workload);
        break;
      case "lease":
        checkers.lease = checkLease(history);
        break;
      default:
        checkers[workload] = unknownResult(`no checker for ${workload}`);
    }
  }
  return { valid: combine(Object.values(checkers).map((c) => c.valid)), checkers };
}
