// The Wing–Gong/Lowe linearizability search over one partition, as Porcupine
// runs it: call/return entries in a linked list, a stack of tentatively
// linearized ops, and a memo of (linearized set, model state) already explored.
//
// Public API:
//   interface Model<S, O> { init: S; step(state, op): S | undefined; stateKey(state): string }
//   interface TimedOp<O> { op: O; call: number; ret: number }
//   interface SearchBudget { maxSteps: number; maxMs: number; now: () => number }
//   type SearchResult<S> = { kind: "ok"; steps } | { kind: "unknown"; steps; reason }
//                        | { kind: "illegal"; steps; prefix: number[]; states: S[]; blocked: number; blockedState: S }
//   function searchLinearization<S, O>(model, ops, budget): SearchResult<S>
//
// Intervals are closed: ops whose call and return times are equal count as
// concurrent, so on equal times call entries sort before return entries.

import { assert } from "../../src/util/assert.js";
import { Bitset } from "./bitset.js";

export interface Model<S, O> {
  readonly init: S;
  /** The state after `op`, or undefined when `op` cannot happen in `state`. Pure. */
  step(state: S, op: O): S | undefined;
  /** Equal states must give equal keys: the memo compares states by key. */
  stateKey(state: S): string;
}

export interface TimedOp<O> {
  readonly op: O;
  readonly call: number;
  /** +Infinity for an op that may take effect at any later time. */
  readonly ret: number;
}

export interface SearchBudget {
  readonly maxSteps: number;
  readonly maxMs: number;
  readonly now: () => number;
}

export type SearchResult<S> =
  | { readonly kind: "ok"; readonly steps: number }
  | { readonly kind: "unknown"; readonly steps: number; readonly reason: string }
  | {
      readonly kind: "illegal";
      readonly steps: number;
      /** The longest partial linearization found, as op ids in order. */
      readonly prefix: readonly number[];
      /** The model state after each op of `prefix`. */
      readonly states: readonly S[];
      /** An op that had to come next after `prefix` but could not. */
      readonly blocked: number;
      readonly blockedState: S;
    };

interface Entry {
  readonly id: number;
  readonly isCall: boolean;
  readonly time: number;
  match: Entry | undefined; // a call's return entry
  prev: Entry | undefined;
  next: Entry | undefined;
}

interface Frame<S> {
  readonly entry: Entry;
  readonly state: S;
}

/** How many steps pass between clock reads (reading the clock is not free). */
const CLOCK_CHECK_INTERVAL_STEPS = 1024;

export function searchLinearization<S, O>(
  model: Model<S, O>,
  ops: readonly TimedOp<O>[],
  budget: SearchBudget,
): SearchResult<S> {
  const head = buildList(ops);
  const memo = new Memo();
  const linearized = new Bitset(ops.length);
  const stack: Frame<S>[] = [];
  let state = model.init;
  let best: DeadEnd<S> | undefined;
  const started = budget.now();
  let steps = 0;
  let entry = head.next;
  while (head.next !== undefined) {
    // Every call's return entry follows it, so a walk from the head meets a
    // return entry (and backtracks) before it can run off the end.
    assert(entry !== undefined, "WGL search walked past the last entry");
    steps += 1;
    if (steps > budget.maxSteps) {
      return { kind: "unknown", steps, reason: `step budget of ${budget.maxSteps} exhausted` };
    }
    if (steps % CLOCK_CHECK_INTERVAL_STEPS === 0 && budget.now() - started > budget.maxMs) {
      return { kind: "unknown", steps, reason: `time budget of ${budget.maxMs} ms exhausted` };
    }
    if (entry.isCall) {
      const timed = ops[entry.id];
      const next = timed === undefined ? undefined : model.step(state, timed.op);
      if (next !== undefined) {
        linearized.set(entry.id);
        if (memo.add(linearized, model.stateKey(next))) {
          stack.push({ entry, state });
          state = next;
          lift(entry);
          entry = head.next;
          continue;
        }
        linearized.clear(entry.id);
      }
      entry = entry.next;
      continue;
    }
    // A return entry: its op was not linearized before it returned, so this
    // branch is dead. Remember the deepest dead end as the counterexample.
    if (best === undefined || stack.length > best.prefix.length)
      best = deadEnd(stack, state, entry.id);
    const top = stack.pop();
    if (top === undefined) {
      return { kind: "illegal", steps, ...best };
    }
    state = top.state;
    linearized.clear(top.entry.id);
    unlift(top.entry);
    entry = top.entry.next;
  }
  return { kind: "ok", steps };
}

interface DeadEnd<S> {
  readonly prefix: readonly number[];
  readonly states: readonly S[];
  readonly blocked: number;
  readonly blockedState: S;
}

function deadEnd<S>(stack: readonly Frame<S>[], state: S, blocked: number): DeadEnd<S> {
  // Frames hold the state before their op, so the state after op k is
  // frame k+1's, and after the last op it is the current state.
  const after = stack.slice(1).map((frame) => frame.state);
  return {
    prefix: stack.map((frame) => frame.entry.id),
    states: stack.length === 0 ? [] : [...after, state],
    blocked,
    blockedState: state,
  };
}

/** A sentinel head followed by all entries in time order. */
function buildList<O>(ops: readonly TimedOp<O>[]): Entry {
  const entries: Entry[] = [];
  for (const [id, timed] of ops.entries()) {
    const ret: Entry = {
      id,
      isCall: false,
      time: timed.ret,
      match: undefined,
      prev: undefined,
      next: undefined,
    };
    const call: Entry = {
      id,
      isCall: true,
      time: timed.call,
      match: ret,
      prev: undefined,
      next: undefined,
    };
    entries.push(call, ret);
  }
  entries.sort((a, b) => a.time - b.time || Number(b.isCall) - Number(a.isCall) || a.id - b.id);
  const head: Entry = {
    id: -1,
    isCall: false,
    time: Number.NEGATIVE_INFINITY,
    match: undefined,
    prev: undefined,
    next: undefined,
  };
  let tail = head;
  for (const e of entries) {
    tail.next = e;
    e.prev = tail;
    tail = e;
  }
  return head;
}

/** Takes a call entry and its return entry out of the list. */
function lift(call: Entry): void {
  unlink(call);
  if (call.match !== undefined) unlink(call.match);
}

/** Puts them back, in the reverse order of lift so the links are restored exactly. */
function unlift(call: Entry): void {
  if (call.match !== undefined) relink(call.match);
  relink(call);
}

function unlink(e: Entry): void {
  if (e.prev !== undefined) e.prev.next = e.next;
  if (e.next !== undefined) e.next.prev = e.prev;
}

function relink(e: Entry): void {
  if (e.prev !== undefined) e.prev.next = e;
  if (e.next !== undefined) e.next.prev = e;
}

/** The set of (linearized ops, state) pairs already explored. */
class Memo {
  private readonly buckets = new Map<number, { bits: Bitset; stateKey: string }[]>();

  /** Adds the pair; false when it was already present. */
  add(bits: Bitset, stateKey: string): boolean {
    const hash = (bits.hash() ^ stringHash(stateKey)) >>> 0;
    const bucket = this.buckets.get(hash);
    if (bucket === undefined) {
      this.buckets.set(hash, [{ bits: bits.clone(), stateKey }]);
      return true;
    }
    for (const seen of bucket) {
      if (seen.stateKey === stateKey && seen.bits.equals(bits)) return false;
    }
    bucket.push({ bits: bits.clone(), stateKey });
    return true;
  }
}

function stringHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  }
  return h >>> 0;
}
