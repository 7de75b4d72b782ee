// Pairs each invocation with its completion, the unit every checker reasons
// about, and validates the per-process discipline on the way.
//
// Public API:
//   type Outcome = "ok" | "fail" | "info" | "pending"
//   interface PairedOp { process, f, key?, input, output, outcome, callTime,
//                        returnTime, completeTime?, invokeIndex, completeIndex? }
//   function pairHistory(history: History): PairedOp[]   (throws HistoryError)
//   function countOutcomes(ops: readonly PairedOp[]): OpCounts
//
// `returnTime` is +Infinity for info and pending ops: they may take effect at
// any point after their call, which is how checkers treat "maybe happened".

import { assertNever } from "../../src/util/assert.js";
import { type History, HistoryError, type OpCounts } from "./op.js";

/** "pending": invoked, but the history ended before a completion. */
export type Outcome = "ok" | "fail" | "info" | "pending";

export interface PairedOp {
  readonly process: number;
  readonly f: string;
  readonly key?: string;
  /** The invocation's value. */
  readonly input: unknown;
  /** The ok completion's value; undefined for any other outcome. */
  readonly output: unknown;
  readonly outcome: Outcome;
  readonly callTime: number;
  /** The completion time for ok/fail; +Infinity for info and pending. */
  readonly returnTime: number;
  /** When the completion was recorded, whatever the outcome (for drawing). */
  readonly completeTime?: number;
  readonly invokeIndex: number;
  readonly completeIndex?: number;
}

interface Open {
  readonly invokeIndex: number;
  readonly f: string;
  readonly key: string | undefined;
  readonly input: unknown;
  readonly callTime: number;
}

/** Paired ops in invocation order. */
export function pairHistory(history: History): PairedOp[] {
  const open = new Map<number, Open>();
  const crashed = new Set<number>();
  const paired: PairedOp[] = [];
  const slots = new Map<number, number>(); // invokeIndex → position in `paired`
  for (const op of history) {
    if (crashed.has(op.process)) {
      throw new HistoryError(op.index, `process ${op.process} acts after an info completion`);
    }
    const pending = open.get(op.process);
    if (op.type === "invoke") {
      if (pending !== undefined) {
        throw new HistoryError(
          op.index,
          `process ${op.process} invokes while record ${pending.invokeIndex} is open`,
        );
      }
      open.set(op.process, {
        invokeIndex: op.index,
        f: op.f,
        key: op.key,
        input: op.value,
        callTime: op.time,
      });
      slots.set(op.index, paired.length);
      paired.push(pendingOp(op.process, op.index, op.f, op.key, op.value, op.time));
      continue;
    }
    if (pending === undefined) {
      throw new HistoryError(op.index, `process ${op.process} completes without an invocation`);
    }
    if (pending.f !== op.f || pending.key !== op.key) {
      throw new HistoryError(
        op.index,
        `completion ${op.f}(${op.key ?? ""}) does not match invocation ${pending.f}(${pending.key ?? ""})`,
      );
    }
    if (op.time < pending.callTime) {
      throw new HistoryError(op.index, "completes before its invocation");
    }
    open.delete(op.process);
    if (op.type === "info") crashed.add(op.process);
    const slot = slots.get(pending.invokeIndex);
    if (slot === undefined) throw new HistoryError(op.index, "lost track of the invocation");
    paired[slot] = {
      process: op.process,
      f: op.f,
      ...(op.key !== undefined ? { key: op.key } : {}),
      input: pending.input,
      output: op.type === "ok" ? op.value : undefined,
      outcome: op.type,
      callTime: pending.callTime,
      returnTime: op.type === "info" ? Number.POSITIVE_INFINITY : op.time,
      completeTime: op.time,
      invokeIndex: pending.invokeIndex,
      completeIndex: op.index,
    };
  }
  return paired;
}

function pendingOp(
  process: number,
  invokeIndex: number,
  f: string,
  key: string | undefined,
  input: unknown,
  callTime: number,
): PairedOp {
  return {
    process,
    f,
    ...(key !== undefined ? { key } : {}),
    input,
    output: undefined,
    outcome: "pending",
    callTime,
    returnTime: Number.POSITIVE_INFINITY,
    invokeIndex,
  };
}

/** Completion counts; a pending op counts as info (its effect is unknown). */
export function countOutcomes(ops: readonly PairedOp[]): OpCounts {
  const counts: OpCounts = { ok: 0, fail: 0, info: 0 };
  for (const op of ops) {
    switch (op.outcome) {
      case "ok":
      case "fail":
      case "info":
        counts[op.outcome] += 1;
        break;
      case "pending":
        counts.info += 1;
        break;
      default:
        assertNever(op.outcome, "outcome");
    }
  }
  return counts;
}
