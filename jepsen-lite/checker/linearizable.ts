// Linearizability of a register-per-key history: partition by key (a history
// is linearizable iff each key's sub-history is — P-compositionality), run
// the WGL search on each under a budget, and explain the first failure.
//
// Public API:
//   interface LinearizableOptions { maxStepsPerKey?; maxMsPerKey?; now?; maxCounterexampleOps?; select? }
//   interface KeyResult { valid: boolean | "unknown"; ops: number; steps: number; reason?: string }
//   interface CounterexampleOp { op: PairedOp; role: "linearized" | "unlinearizable"; stateAfter?: string }
//   interface Counterexample { key; ops: CounterexampleOp[]; omittedOps: number; description }
//   interface LinearizableResult { valid: boolean | "unknown"; perKey: Record<string, KeyResult>;
//                                  skippedOps: number; counterexample? }
//   function checkLinearizable(history: History, options?): LinearizableResult
//   function checkLinearizableOps(ops: readonly PairedOp[], options?): LinearizableResult
//
// info and pending ops return at +Infinity and their output is not checked:
// they may have happened at any point after their call, or never (which is
// the same as happening after everything else). An exhausted budget gives
// "unknown", never a pass.

import type { History } from "../history/op.js";
import { type PairedOp, pairHistory } from "../history/pair.js";
import { describeRegisterOp, type RegisterOp, registerModel, toRegisterOp } from "./register.js";
import { type SearchResult, searchLinearization, type TimedOp } from "./wgl.js";

export interface LinearizableOptions {
  /** Search steps allowed per key before giving up with "unknown". */
  readonly maxStepsPerKey?: number;
  /** Wall-clock milliseconds allowed per key before giving up with "unknown". */
  readonly maxMsPerKey?: number;
  /** The clock for maxMsPerKey; performance.now by default. */
  readonly now?: () => number;
  /** How many ops of the linearized prefix the counterexample keeps (the last ones). */
  readonly maxCounterexampleOps?: number;
  /**
   * Which ops belong to the register workload (a run's history may mix
   * workloads); by default those with f read, write or cas.
   */
  readonly select?: (op: PairedOp) => boolean;
}

export interface KeyResult {
  readonly valid: boolean | "unknown";
  /** Ops that took part in the search (definite failures and unknown reads excluded). */
  readonly ops: number;
  readonly steps: number;
  readonly reason?: string;
}

export interface CounterexampleOp {
  readonly op: PairedOp;
  readonly role: "linearized" | "unlinearizable";
  /** The register after this op in the partial linearization (canonical JSON). */
  readonly stateAfter?: string;
}

export interface Counterexample {
  readonly key: string;
  /** The tail of the longest partial linearization, then the op that could not follow it. */
  readonly ops: readonly CounterexampleOp[];
  /** Linearized ops before `ops` that were left out to keep it small. */
  readonly omittedOps: number;
  readonly description: string;
}

export interface LinearizableResult {
  readonly valid: boolean | "unknown";
  readonly perKey: Readonly<Record<string, KeyResult>>;
  /** Ops left out by `select`. */
  readonly skippedOps: number;
  readonly counterexample?: Counterexample;
}

export const DEFAULT_MAX_STEPS_PER_KEY = 5_000_000;
export const DEFAULT_MAX_MS_PER_KEY = 60_000;
export const DEFAULT_MAX_COUNTEREXAMPLE_OPS = 8;

/** Ops without a key form one register under this name. */
export const NO_KEY = "";

export function checkLinearizable(
  history: History,
  options: LinearizableOptions = {},
): LinearizableResult {
  return checkLinearizableOps(pairHistory(history), options);
}

export function checkLinearizableOps(
  ops: readonly PairedOp[],
  options: LinearizableOptions = {},
): LinearizableResult {
  const byKey = new Map<string, PairedOp[]>();
  const select = options.select ?? isRegisterOp;
  let skippedOps = 0;
  for (const op of ops) {
    if (!select(op)) {
      skippedOps += 1;
      continue;
    }
    const key = op.key ?? NO_KEY;
    const list = byKey.get(key) ?? [];
    list.push(op);
    byKey.set(key, list);
  }
  const perKey: Record<string, KeyResult> = {};
  let counterexample: Counterexample | undefined;
  let anyUnknown = false;
  for (const key of [...byKey.keys()].sort()) {
    const { result, example } = checkKey(key, byKey.get(key) ?? [], options);
    perKey[key] = result;
    if (result.valid === "unknown") anyUnknown = true;
    if (example !== undefined && counterexample === undefined) counterexample = example;
  }
  const valid = counterexample !== undefined ? false : anyUnknown ? "unknown" : true;
  return { valid, perKey, skippedOps, ...(counterexample !== undefined ? { counterexample } : {}) };
}

const REGISTER_FS: ReadonlySet<string> = new Set(["read", "write", "cas"]);

function isRegisterOp(op: PairedOp): boolean {
  return REGISTER_FS.has(op.f);
}

interface Candidate {
  readonly paired: PairedOp;
  readonly timed: TimedOp<RegisterOp>;
}

function checkKey(
  key: string,
  ops: readonly PairedOp[],
  options: LinearizableOptions,
): { result: KeyResult; example?: Counterexample } {
  const candidates: Candidate[] = [];
  for (const paired of ops) {
    const op = toRegisterOp(paired);
    if (op === undefined) continue;
    candidates.push({ paired, timed: { op, call: paired.callTime, ret: paired.returnTime } });
  }
  const search = searchLinearization(
    registerModel,
    candidates.map((c) => c.timed),
    {
      maxSteps: options.maxStepsPerKey ?? DEFAULT_MAX_STEPS_PER_KEY,
      maxMs: options.maxMsPerKey ?? DEFAULT_MAX_MS_PER_KEY,
      now: options.now ?? (() => performance.now()),
    },
  );
  const base = { ops: candidates.length, steps: search.steps };
  switch (search.kind) {
    case "ok":
      return { result: { valid: true, ...base } };
    case "unknown":
      return { result: { valid: "unknown", ...base, reason: search.reason } };
    case "illegal": {
      const example = explain(key, candidates, search, options);
      return { result: { valid: false, ...base, reason: example.description }, example };
    }
  }
}

function explain(
  key: string,
  candidates: readonly Candidate[],
  search: Extract<SearchResult<string>, { kind: "illegal" }>,
  options: LinearizableOptions,
): Counterexample {
  const keep = options.maxCounterexampleOps ?? DEFAULT_MAX_COUNTEREXAMPLE_OPS;
  const omittedOps = Math.max(0, search.prefix.length - keep);
  const ops: CounterexampleOp[] = [];
  for (let k = omittedOps; k < search.prefix.length; k++) {
    const candidate = candidates[search.prefix[k] ?? -1];
    const stateAfter = search.states[k];
    if (candidate === undefined || stateAfter === undefined) continue;
    ops.push({ op: candidate.paired, role: "linearized", stateAfter });
  }
  const blocked = candidates[search.blocked];
  if (blocked === undefined) {
    return { key, ops, omittedOps, description: "no linearization exists" };
  }
  ops.push({ op: blocked.paired, role: "unlinearizable" });
  const after =
    search.prefix.length === 0
      ? "from the initial state"
      : `after the ${search.prefix.length} op(s) linearized before it`;
  const description =
    `key ${JSON.stringify(key)}: ${describeRegisterOp(blocked.timed.op)} ` +
    `(process ${blocked.paired.process}, record ${blocked.paired.invokeIndex}) cannot be linearized ` +
    `${after}: the register holds ${search.blockedState}, and no other order explains it`;
  return { key, ops, omittedOps, description };
}
