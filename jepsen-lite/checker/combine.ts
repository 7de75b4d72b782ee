// The overall verdict of a run (results.json): every checker's result under
// its name, the op counts, and one validity folded from them all.
//
// Public API:
//   type Validity = boolean | "unknown"
//   interface CheckerResult { valid: Validity }
//   interface Results<R> { valid: Validity; checkers: Record<string, R>; counts: OpCounts }
//   function combineValidity(values: Iterable<Validity>): Validity
//   function combineResults<R extends CheckerResult>(checkers: Record<string, R>, counts: OpCounts): Results<R>
//   function encodeResults(results: Results<CheckerResult>): string
//   function nonFiniteAsString(key: string, value: unknown): unknown   (JSON replacer)
//
// Any false makes the run false; otherwise any unknown makes it unknown. A
// run with no checkers at all is unknown: nothing was shown to hold.

import type { OpCounts } from "../history/op.js";

export type Validity = boolean | "unknown";

export interface CheckerResult {
  readonly valid: Validity;
}

export interface Results<R extends CheckerResult = CheckerResult> {
  readonly valid: Validity;
  readonly checkers: Readonly<Record<string, R>>;
  readonly counts: OpCounts;
}

export function combineValidity(values: Iterable<Validity>): Validity {
  let sawAny = false;
  let sawUnknown = false;
  for (const v of values) {
    sawAny = true;
    if (v === false) return false;
    if (v === "unknown") sawUnknown = true;
  }
  return !sawAny || sawUnknown ? "unknown" : true;
}

export function combineResults<R extends CheckerResult>(
  checkers: Readonly<Record<string, R>>,
  counts: OpCounts,
): Results<R> {
  const valid = combineValidity(Object.values(checkers).map((r) => r.valid));
  return { valid, checkers, counts };
}

/**
 * results.json text. JSON has no Infinity, and indeterminate ops carry
 * returnTime = +Infinity, so non-finite numbers become the strings
 * "Infinity"/"-Infinity"/"NaN" instead of a misleading null.
 */
export function encodeResults(results: Results<CheckerResult>): string {
  return `${JSON.stringify(results, nonFiniteAsString, 2)}\n`;
}

/** A JSON.stringify replacer: non-finite numbers as strings. */
export function nonFiniteAsString(_key: string, value: unknown): unknown {
  return typeof value === "number" && !Number.isFinite(value) ? String(value) : value;
}
