// The one call site of the checkers: the runner hands the whole history and
// the workload names here and gets one validity per checker plus the
// overall one. Stand-ins for now; swap in jepsen-lite/checker/* here.
import type { LockLog } from "../workloads/lock.js";
import type { WatchObserved } from "../workloads/watch.js";
import type { HistoryOp } from "./history.js";
import {
  type CheckerResult,
  checkLease,
  checkLock,
  checkRegister,
  checkWatchStandIn,
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
  /** The watch workload's acknowledged writes and watcher sessions. */
  readonly watch?: WatchObserved;
}

/**
 * The stand-ins read the history (and the watch log); the real checkers also
 * need `_observed` (checker/lock.ts the resource log, checker/lease.ts the
 * election timeout, checker/watch.ts the watch log).
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
      case "watch": {
        const written = new Set(
          history
            .filter((op) => op.f === "watch:put" && op.type === "invoke")
            .map((op) => String(op.value)),
        );
        checkers.watch =
          _observed.watch === undefined
            ? unknownResult("no watch log")
            : checkWatchStandIn(_observed.watch, written);
        break;
      }
      default:
        checkers[workload] = unknownResult(`no checker for ${workload}`);
    }
  }
  return { valid: combine(Object.values(checkers).map((c) => c.valid)), checkers };
}
