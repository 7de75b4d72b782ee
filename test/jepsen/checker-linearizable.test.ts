// The register linearizability checker on hand-made histories, then compared
// with a brute-force checker (every order that respects real time) on small
// random histories.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkLinearizable } from "../../jepsen-lite/checker/linearizable.js";
import { type PairedOp, pairHistory } from "../../jepsen-lite/history/pair.js";
import { historyOf, type OpSpec } from "./checker-fixtures.js";

const check = (specs: OpSpec[]) => checkLinearizable(historyOf(specs));

describe("checkLinearizable: hand-made histories", () => {
  it("accepts a sequential history", () => {
    const result = check([
      { p: 1, f: "write", in: 1, call: 0, ret: 1 },
      { p: 1, f: "read", out: 1, call: 2, ret: 3 },
      { p: 2, f: "cas", in: [1, 2], out: true, call: 4, ret: 5 },
      { p: 2, f: "read", out: 2, call: 6, ret: 7 },
    ]);
    expect(result.valid).toBe(true);
    expect(result.counterexample).toBeUndefined();
  });

  it("accepts the empty history and a read of a missing key", () => {
    expect(checkLinearizable([]).valid).toBe(true);
    expect(check([{ p: 1, f: "read", out: null, call: 0, ret: 1 }]).valid).toBe(true);
  });

  it("accepts concurrent ops whose order only an interleaving explains", () => {
    // p2's read overlaps both writes and sees the first; p3's sees the second.
    const result = check([
      { p: 1, f: "write", in: 1, call: 0, ret: 10 },
      { p: 2, f: "write", in: 2, call: 1, ret: 9 },
      { p: 3, f: "read", out: 2, call: 2, ret: 4 },
      { p: 4, f: "read", out: 1, call: 5, ret: 12 },
    ]);
    expect(result.valid).toBe(true);
  });

  it("treats ops with touching intervals as concurrent", () => {
    const result = check([
      { p: 1, f: "write", in: 1, call: 0, ret: 5 },
      { p: 2, f: "read", out: null, call: 5, ret: 6 },
    ]);
    expect(result.valid).toBe(true);
  });

  it("rejects a stale read and explains it", () => {
    const result = check([
      { p: 1, f: "write", in: 1, call: 0, ret: 1 },
      { p: 1, f: "write", in: 2, call: 2, ret: 3 },
      { p: 2, f: "read", out: 1, call: 4, ret: 5 },
    ]);
    expect(result.valid).toBe(false);
    const ce = result.counterexample;
    expect(ce?.key).toBe("");
    expect(ce?.ops.map((o) => o.role)).toEqual(["linearized", "linearized", "unlinearizable"]);
    expect(ce?.ops.at(-1)?.op.f).toBe("read");
    expect(ce?.ops[1]?.stateAfter).toBe("2");
    expect(ce?.description).toContain("read → 1");
    expect(ce?.description).toContain("holds 2");
  });

  it("rejects a lost write", () => {
    const result = check([
      { p: 1, f: "write", in: "a", key: "k", call: 0, ret: 1 },
      { p: 2, f: "read", out: null, key: "k", call: 2, ret: 3 },
    ]);
    expect(result.valid).toBe(false);
    expect(result.perKey.k?.valid).toBe(false);
    expect(result.counterexample?.key).toBe("k");
  });

  it("accepts an indeterminate write that took effect", () => {
    const result = check([
      { p: 1, f: "write", in: 1, call: 0, type: "info", ret: 2 },
      { p: 2, f: "read", out: 1, call: 10, ret: 11 },
    ]);
    expect(result.valid).toBe(true);
  });

  it("accepts an indeterminate write that never took effect", () => {
    const result = check([
      { p: 1, f: "write", in: 1, call: 0, type: "info", ret: 2 },
      { p: 2, f: "read", out: null, call: 10, ret: 11 },
    ]);
    expect(result.valid).toBe(true);
  });

  it("accepts an indeterminate write that takes effect long after it timed out", () => {
    const result = check([
      { p: 1, f: "write", in: 1, call: 0, type: "info", ret: 2 },
      { p: 2, f: "read", out: null, call: 10, ret: 11 },
      { p: 2, f: "read", out: 1, call: 20, ret: 21 },
    ]);
    expect(result.valid).toBe(true);
  });

  it("treats an op still pending at the end like an indeterminate one", () => {
    const result = check([
      { p: 1, f: "write", in: 1, call: 0, type: "pending" },
      { p: 2, f: "read", out: 1, call: 10, ret: 11 },
    ]);
    expect(result.valid).toBe(true);
  });

  it("still rejects a value nobody wrote when an indeterminate write exists", () => {
    const result = check([
      { p: 1, f: "write", in: 1, call: 0, type: "info", ret: 2 },
      { p: 2, f: "read", out: 3, call: 10, ret: 11 },
    ]);
    expect(result.valid).toBe(false);
  });

  it("ignores definite failures", () => {
    const result = check([
      { p: 1, f: "write", in: 1, call: 0, type: "fail", ret: 2 },
      { p: 2, f: "read", out: null, call: 10, ret: 11 },
    ]);
    expect(result.valid).toBe(true);
    const readsFailedWrite = check([
      { p: 1, f: "write", in: 1, call: 0, type: "fail", ret: 2 },
      { p: 2, f: "read", out: 1, call: 10, ret: 11 },
    ]);
    expect(readsFailedWrite.valid).toBe(false);
  });

  describe("cas", () => {
    it("succeeds only when the register holds the expected value", () => {
      expect(
        check([
          { p: 1, f: "write", in: 1, call: 0, ret: 1 },
          { p: 1, f: "cas", in: [1, 2], out: true, call: 2, ret: 3 },
          { p: 1, f: "read", out: 2, call: 4, ret: 5 },
        ]).valid,
      ).toBe(true);
      expect(
        check([
          { p: 1, f: "write", in: 1, call: 0, ret: 1 },
          { p: 1, f: "cas", in: [3, 2], out: true, call: 2, ret: 3 },
        ]).valid,
      ).toBe(false);
    });

    it("fails (output false) only when the register holds something else", () => {
      expect(
        check([
          { p: 1, f: "write", in: 1, call: 0, ret: 1 },
          { p: 1, f: "cas", in: [3, 2], out: false, call: 2, ret: 3 },
          { p: 1, f: "read", out: 1, call: 4, ret: 5 },
        ]).valid,
      ).toBe(true);
      expect(
        check([
          { p: 1, f: "write", in: 1, call: 0, ret: 1 },
          { p: 1, f: "cas", in: [1, 2], out: false, call: 2, ret: 3 },
        ]).valid,
      ).toBe(false);
    });

    it("lets two concurrent cas on the same value succeed only once", () => {
      const result = check([
        { p: 1, f: "write", in: 0, call: 0, ret: 1 },
        { p: 2, f: "cas", in: [0, 1], out: true, call: 2, ret: 5 },
        { p: 3, f: "cas", in: [0, 2], out: true, call: 2, ret: 5 },
      ]);
      expect(result.valid).toBe(false);
    });

    it("an indeterminate cas may or may not have applied", () => {
      const base: OpSpec[] = [
        { p: 1, f: "write", in: 0, call: 0, ret: 1 },
        { p: 2, f: "cas", in: [0, 1], call: 2, ret: 3, type: "info" },
      ];
      expect(check([...base, { p: 3, f: "read", out: 1, call: 4, ret: 5 }]).valid).toBe(true);
      expect(check([...base, { p: 3, f: "read", out: 0, call: 4, ret: 5 }]).valid).toBe(true);
    });

    it("compares structured values by content, whatever the key order", () => {
      const result = check([
        { p: 1, f: "write", in: { a: 1, b: 2 }, call: 0, ret: 1 },
        { p: 1, f: "cas", in: [{ b: 2, a: 1 }, "x"], out: true, call: 2, ret: 3 },
      ]);
      expect(result.valid).toBe(true);
    });
  });

  it("checks keys independently and reports each", () => {
    const result = check([
      { p: 1, f: "write", key: "a", in: 1, call: 0, ret: 1 },
      { p: 2, f: "write", key: "b", in: 2, call: 0, ret: 1 },
      { p: 3, f: "read", key: "a", out: 1, call: 2, ret: 3 },
      { p: 4, f: "read", key: "b", out: 1, call: 2, ret: 3 },
    ]);
    expect(result.valid).toBe(false);
    expect(result.perKey.a?.valid).toBe(true);
    expect(result.perKey.b?.valid).toBe(false);
    expect(result.counterexample?.key).toBe("b");
  });

  it("keeps the counterexample small: only the tail of the linearized prefix", () => {
    const specs: OpSpec[] = [];
    for (let i = 0; i < 20; i++)
      specs.push({ p: 1, f: "write", in: i, call: 2 * i, ret: 2 * i + 1 });
    specs.push({ p: 2, f: "read", out: 3, call: 100, ret: 101 });
    const result = checkLinearizable(historyOf(specs), { maxCounterexampleOps: 4 });
    expect(result.valid).toBe(false);
    expect(result.counterexample?.ops).toHaveLength(5);
    expect(result.counterexample?.omittedOps).toBe(16);
  });

  it("gives unknown, never valid, when the budget runs out", () => {
    // Many concurrent indeterminate writes make the search wide.
    const specs: OpSpec[] = [];
    for (let i = 0; i < 12; i++)
      specs.push({ p: i, f: "write", in: i, call: i, ret: 50, type: "info" });
    specs.push({ p: 100, f: "read", out: 99, call: 60, ret: 61 });
    const history = historyOf(specs);
    const tight = checkLinearizable(history, { maxStepsPerKey: 50 });
    expect(tight.valid).toBe("unknown");
    expect(tight.perKey[""]?.reason).toContain("step budget");
    const timed = checkLinearizable(history, { maxMsPerKey: 0, now: fakeClock(5) });
    expect(timed.valid).toBe("unknown");
    expect(timed.perKey[""]?.reason).toContain("time budget");
    expect(checkLinearizable(history).valid).toBe(false);
  });

  it("unknown on one key and invalid on another is invalid", () => {
    const specs: OpSpec[] = [];
    for (let i = 0; i < 12; i++)
      specs.push({ p: i, f: "write", key: "wide", in: i, call: i, ret: 50, type: "info" });
    specs.push({ p: 100, f: "read", key: "wide", out: 99, call: 60, ret: 61 });
    specs.push({ p: 200, f: "read", key: "bad", out: 5, call: 0, ret: 1 });
    const result = checkLinearizable(historyOf(specs), { maxStepsPerKey: 50 });
    expect(result.perKey.wide?.valid).toBe("unknown");
    expect(result.valid).toBe(false);
  });
});

/** A clock that advances `stepMs` on every read. */
function fakeClock(stepMs: number): () => number {
  let t = 0;
  return () => {
    t += stepMs;
    return t;
  };
}

// ---- brute force -------------------------------------------------------------

type Value = number | null;

/**
 * Linearizable iff some order of the ops respects real time and the register
 * semantics; info/pending ops may also be left out (they never happened).
 * Independent of the checker's model on purpose.
 */
function bruteForce(ops: readonly PairedOp[]): boolean {
  const live = ops.filter(
    (op) => op.outcome !== "fail" && !(op.f === "read" && op.outcome !== "ok"),
  );
  const required = live.filter((op) => op.outcome === "ok");
  const placed = new Set<PairedOp>();
  const search = (state: Value): boolean => {
    if (required.every((op) => placed.has(op))) return true;
    for (const op of live) {
      if (placed.has(op)) continue;
      // Real time: every unplaced op that returned before this call must come first.
      if (
        live.some((other) => !placed.has(other) && other !== op && other.returnTime < op.callTime)
      )
        continue;
      const next = apply(state, op);
      if (next === "illegal") continue;
      placed.add(op);
      if (search(next)) return true;
      placed.delete(op);
    }
    return false;
  };
  return search(null);
}

function apply(state: Value, op: PairedOp): Value | "illegal" {
  const known = op.outcome === "ok";
  if (op.f === "read") return (op.output ?? null) === state ? state : "illegal";
  if (op.f === "write") return op.input as Value;
  const [expected, next] = op.input as [Value, Value];
  const matches = state === expected;
  if (!known) return matches ? next : state;
  const succeeded = op.output !== false;
  if (succeeded !== matches) return "illegal";
  return matches ? next : state;
}

// ---- generators ----------------------------------------------------------------

const value = fc.integer({ min: 0, max: 2 });
const outcome = fc.constantFrom<"ok" | "fail" | "info" | "pending">(
  "ok",
  "ok",
  "ok",
  "info",
  "fail",
  "pending",
);

/** Any small history: arbitrary outputs, intervals and outcomes. */
const arbitraryHistory = fc
  .array(
    fc.record({
      f: fc.constantFrom("read", "write", "cas"),
      a: value,
      b: value,
      read: fc.option(value, { nil: null }),
      casOk: fc.boolean(),
      call: fc.integer({ min: 0, max: 10 }),
      length: fc.integer({ min: 0, max: 6 }),
      type: outcome,
    }),
    { maxLength: 6 },
  )
  .map((ops) =>
    ops.map((o, p): OpSpec => {
      const common = { p, f: o.f, call: o.call, ret: o.call + o.length, type: o.type };
      if (o.f === "read") return { ...common, out: o.read };
      if (o.f === "write") return { ...common, in: o.a };
      return { ...common, in: [o.a, o.b], out: o.casOk };
    }),
  );

/**
 * A history produced by really running the ops one after another at
 * linearization points 10 apart, with each op's interval stretched randomly
 * around its point. Indeterminate ops may or may not have run.
 */
const sequentialHistory = fc
  .array(
    fc.record({
      f: fc.constantFrom("read", "write", "cas"),
      a: value,
      b: value,
      before: fc.integer({ min: 0, max: 15 }),
      after: fc.integer({ min: 0, max: 15 }),
      type: fc.constantFrom<"ok" | "info-applied" | "info-lost" | "fail">(
        "ok",
        "ok",
        "ok",
        "info-applied",
        "info-lost",
        "fail",
      ),
    }),
    { minLength: 1, maxLength: 6 },
  )
  .map((ops) => {
    let state: Value = null;
    return ops.map((o, p): OpSpec => {
      const point = 10 * (p + 1);
      const times = { p, f: o.f, call: point - o.before, ret: point + o.after };
      const runs = o.type === "ok" || o.type === "info-applied";
      const type = o.type === "ok" ? "ok" : o.type === "fail" ? "fail" : "info";
      if (o.f === "read") return { ...times, type, out: state };
      if (o.f === "write") {
        if (runs) state = o.a;
        return { ...times, type, in: o.a };
      }
      const matches = state === o.a;
      if (runs && matches) state = o.b;
      return { ...times, type, in: [o.a, o.b], out: matches };
    });
  });

/** A sequential history with one op's output or value changed. */
const mutatedHistory = fc
  .tuple(sequentialHistory, fc.nat(), value)
  .map(([specs, which, replacement]) =>
    specs.map((s, k): OpSpec => {
      if (k !== which % specs.length) return s;
      if (s.f === "read") return { ...s, out: s.out === replacement ? null : replacement };
      if (s.f === "cas") return { ...s, out: !s.out };
      return { ...s, in: replacement };
    }),
  );

describe("checkLinearizable agrees with brute force", () => {
  it("on arbitrary small histories", () => {
    fc.assert(
      fc.property(arbitraryHistory, (specs) => {
        const history = historyOf(specs);
        expect(checkLinearizable(history).valid).toBe(bruteForce(pairHistory(history)));
      }),
      { numRuns: 1500 },
    );
  });

  it("on histories from a real sequential execution (always valid)", () => {
    fc.assert(
      fc.property(sequentialHistory, (specs) => {
        const history = historyOf(specs);
        expect(bruteForce(pairHistory(history))).toBe(true);
        expect(checkLinearizable(history).valid).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it("on mutated sequential histories", () => {
    fc.assert(
      fc.property(mutatedHistory, (specs) => {
        const history = historyOf(specs);
        expect(checkLinearizable(history).valid).toBe(bruteForce(pairHistory(history)));
      }),
      { numRuns: 1500 },
    );
  });
});

/**
 * A run-sized history (3,000 ops, 8 clients, 10 keys, some indeterminate),
 * made by executing ops in the order of increasing linearization points.
 */
function runSizedHistory(infoRate: number): OpSpec[] {
  let seed = 42;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const state = new Map<string, number | null>();
  const free = new Array<number>(8).fill(0);
  const process = [0, 1, 2, 3, 4, 5, 6, 7];
  const specs: OpSpec[] = [];
  let nextProcess = 8;
  let t = 0;
  let lastPoint = 0;
  let counter = 0;
  for (let i = 0; i < 3000; i++) {
    t += random() * 10;
    const c = i % 8;
    const call = Math.max(t, free[c] ?? 0);
    const point = Math.max(lastPoint + 0.001, call + random() * 5);
    lastPoint = point;
    const ret = point + random() * 20;
    const key = `k${Math.floor(random() * 10)}`;
    const current = state.get(key) ?? null;
    const roll = random();
    const p = process[c] ?? c;
    let spec: OpSpec;
    if (roll < 0.4) spec = { p, f: "read", key, out: current, call, ret };
    else if (roll < 0.8) {
      counter += 1;
      state.set(key, counter);
      spec = { p, f: "write", key, in: counter, call, ret };
    } else {
      const swapped = current === counter;
      if (swapped) state.set(key, -counter);
      spec = { p, f: "cas", key, in: [counter, -counter], out: swapped, call, ret };
    }
    if (random() < infoRate) {
      spec = { ...spec, type: "info" };
      process[c] = nextProcess++;
    }
    specs.push(spec);
    free[c] = ret + 0.01;
  }
  return specs;
}

describe("checkLinearizable at run size", () => {
  it("checks 3,000 ops with 5% and 20% indeterminate ops well within the budget", () => {
    for (const infoRate of [0.05, 0.2]) {
      const result = checkLinearizable(historyOf(runSizedHistory(infoRate)), {
        maxStepsPerKey: 100_000,
      });
      expect(result.valid).toBe(true);
      expect(Object.keys(result.perKey)).toHaveLength(10);
    }
  });

  it("finds one stale read among 3,000 ops", () => {
    const specs = runSizedHistory(0.05);
    // The last successful read of a key that was written at least twice before it.
    const target = specs.findLastIndex(
      (s, i) =>
        s.f === "read" &&
        s.type === undefined &&
        specs.slice(0, i).filter((o) => o.key === s.key && o.f === "write").length > 2,
    );
    const earlier = specs
      .slice(0, target)
      .filter((o) => o.key === specs[target]?.key && o.f === "write" && o.type === undefined);
    const stale = earlier[0]?.in;
    specs[target] = { ...(specs[target] as OpSpec), out: stale };
    const result = checkLinearizable(historyOf(specs));
    expect(result.valid).toBe(false);
    expect(result.counterexample?.key).toBe(specs[target]?.key);
  });
});

describe("checkLinearizable in a mixed history", () => {
  const specs: OpSpec[] = [
    { p: 1, f: "write", key: "k", in: 1, call: 0, ret: 1 },
    { p: 2, f: "lock:acquire", key: "L", out: { token: 5 }, call: 0, ret: 1 },
    { p: 3, f: "read", key: "k", out: 1, call: 2, ret: 3 },
  ];

  it("checks only the register ops by default and counts the rest", () => {
    const result = check(specs);
    expect(result.valid).toBe(true);
    expect(result.skippedOps).toBe(1);
    expect(Object.keys(result.perKey)).toEqual(["k"]);
  });

  it("takes a custom selection; an unknown f selected is a loud error", () => {
    const history = historyOf(specs);
    expect(checkLinearizable(history, { select: (op) => op.key === "k" }).skippedOps).toBe(1);
    expect(() => checkLinearizable(history, { select: () => true })).toThrow(
      /unknown f "lock:acquire"/,
    );
  });
});
