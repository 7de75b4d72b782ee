// Builds histories for checker tests from one line per operation, so a test
// reads like a timeline: who did what, when it was called, when it returned.

import type { History, Op } from "../../jepsen-lite/history/op.js";

export interface OpSpec {
  readonly p: number;
  readonly f: string;
  readonly key?: string;
  /** The invocation's value. */
  readonly in?: unknown;
  /** The ok completion's value. */
  readonly out?: unknown;
  readonly call: number;
  /** Completion time; leave out (with type "info") for an op that never answered. */
  readonly ret?: number;
  readonly type?: "ok" | "fail" | "info" | "pending";
}

/** The invoke/complete records of `specs`, in time order (spec order on ties). */
export function historyOf(specs: readonly OpSpec[]): History {
  type Event = Omit<Op, "index"> & { order: number };
  const events: Event[] = [];
  for (const [n, s] of specs.entries()) {
    const base = { process: s.p, f: s.f, ...(s.key !== undefined ? { key: s.key } : {}) };
    events.push({
      ...base,
      type: "invoke",
      time: s.call,
      order: n,
      ...(s.in !== undefined ? { value: s.in } : {}),
    });
    const type = s.type ?? "ok";
    if (type === "pending") continue;
    events.push({
      ...base,
      type,
      time: s.ret ?? s.call + 1,
      order: n + 0.5,
      ...(type === "ok" && s.out !== undefined ? { value: s.out } : {}),
    });
  }
  events.sort((a, b) => a.time - b.time || a.order - b.order);
  return events.map(({ order: _order, ...op }, index) => ({ ...op, index }));
}
