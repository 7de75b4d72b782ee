// The nemesis schedule (seeded, bounded, one fault at a time, each healed
// before the load phase ends), the partition shapes, and the stand-in
// checkers on small hand-made histories.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FAULT_KINDS, kindsOf, NEMESIS_FAMILIES } from "../../jepsen-lite/nemesis/faults.js";
import { partitionShape } from "../../jepsen-lite/nemesis/partitions.js";
import { PLANNED_FAULTS_MAX, planFaults } from "../../jepsen-lite/nemesis/plan.js";
import { check } from "../../jepsen-lite/runner/check.js";
import type { HistoryOp } from "../../jepsen-lite/runner/history.js";
import { checkNodeLogs } from "../../jepsen-lite/runner/node-logs.js";
import { Rng } from "../../jepsen-lite/runner/rng.js";

const ALL = [...NEMESIS_FAMILIES];

describe("jepsen-lite nemesis plan", () => {
  it("is a function of the seed", () => {
    const options = { families: ALL, nodes: 5, durationMs: 120_000 };
    expect(planFaults({ ...options, seed: 7 })).toEqual(planFaults({ ...options, seed: 7 }));
    expect(planFaults({ ...options, seed: 7 })).not.toEqual(planFaults({ ...options, seed: 8 }));
  });

  it("holds one fault at a time and heals each before the end, for many seeds", () => {
    for (let seed = 0; seed < 200; seed++) {
      const durationMs = 10_000 + seed * 1_000;
      const plan = planFaults({ seed, families: ALL, nodes: seed % 2 === 0 ? 3 : 5, durationMs });
      let previousStop = 0;
      for (const fault of plan) {
        expect(fault.startMs).toBeGreaterThanOrEqual(previousStop + 2_000);
        expect(fault.stopMs).toBeGreaterThanOrEqual(fault.startMs);
        expect(fault.stopMs).toBeLessThanOrEqual(durationMs - 1_000);
        previousStop = fault.stopMs;
      }
      expect(plan.length).toBeLessThanOrEqual(Math.ceil(durationMs / 2_000));
    }
  });

  it("covers every kind of the chosen families before repeating one", () => {
    const kinds = ALL.flatMap((f) => kindsOf(f, 5));
    expect(new Set(kinds)).toEqual(new Set(FAULT_KINDS));
    const plan = planFaults({ seed: 3, families: ALL, nodes: 5, durationMs: 600_000 });
    expect(new Set(plan.slice(0, kinds.length).map((f) => f.kind))).toEqual(new Set(kinds));
    // 3 nodes have no majorities ring.
    expect(kindsOf("partition", 3)).not.toContain("partition-majorities-ring");
  });

  it("is bounded: no families or no time means no faults; a huge run stops at the cap", () => {
    expect(planFaults({ seed: 1, families: [], nodes: 3, durationMs: 60_000 })).toEqual([]);
    expect(planFaults({ seed: 1, families: ["snapshot"], nodes: 3, durationMs: 60_000 })).toEqual(
      [],
    );
    expect(planFaults({ seed: 1, families: ALL, nodes: 3, durationMs: 2_000 })).toEqual([]);
    const huge = planFaults({
      seed: 1,
      families: ["kill"],
      nodes: 3,
      durationMs: 1e12,
      quietMs: [1, 2],
    });
    expect(huge.length).toBe(PLANNED_FAULTS_MAX);
  });
});

describe("jepsen-lite partition shapes", () => {
  const five = ["n1", "n2", "n3", "n4", "n5"];
  const reach = (cuts: readonly { src: string; dst: string }[], from: string): string[] =>
    five.filter((n) => n !== from && !cuts.some((c) => c.src === from && c.dst === n));

  it("majority splits 2 | 3 with every cross link cut both ways", () => {
    const shape = partitionShape("partition-majority", five, null, new Rng(1));
    expect(shape.cuts).toHaveLength(2 * 2 * 3);
    const sizes = five.map((n) => reach(shape.cuts, n).length + 1).sort();
    expect(sizes).toEqual([2, 2, 3, 3, 3]);
  });

  it("majorities-ring: everyone sees a majority, no two see the same one", () => {
    const shape = partitionShape("partition-majorities-ring", five, null, new Rng(2));
    const views = five.map((n) => [n, ...reach(shape.cuts, n)].sort().join(","));
    for (const view of views) expect(view.split(",").length).toBe(3);
    expect(new Set(views).size).toBe(5);
  });

  it("bridge: one node talks to both halves, which cannot talk to each other", () => {
    const shape = partitionShape("partition-bridge", five, null, new Rng(3));
    const bridges = five.filter((n) => reach(shape.cuts, n).length === 4);
    expect(bridges).toHaveLength(1);
  });

  it("one-way cuts only one direction; isolate-leader isolates the leader", () => {
    const oneWay = partitionShape("partition-one-way", five, null, new Rng(4));
    for (const cut of oneWay.cuts) {
      expect(oneWay.cuts.some((c) => c.src === cut.dst && c.dst === cut.src)).toBe(false);
    }
    expect(oneWay.cuts).toHaveLength(4);
    const isolated = partitionShape("partition-isolate-leader", five, "n4", new Rng(5));
    expect(reach(isolated.cuts, "n4")).toEqual([]);
    expect(isolated.cuts.filter((c) => c.dst === "n4")).toHaveLength(4);
  });
});

describe("jepsen-lite stand-in checkers", () => {
  let index = 0;
  const op = (o: Omit<HistoryOp, "index">): HistoryOp => ({ ...o, index: index++ });

  it("register: a read of a value nobody wrote is invalid; indeterminate writes may be read", async () => {
    const good = [
      op({ process: 0, type: "invoke", f: "write", key: "r0", value: 1, time: 0 }),
      op({ process: 0, type: "info", f: "write", key: "r0", value: 1, time: 5 }),
      op({ process: 1, type: "invoke", f: "read", key: "r0", value: null, time: 6 }),
      op({ process: 1, type: "ok", f: "read", key: "r0", value: 1, time: 7 }),
    ];
    expect((await check(good, ["register"])).valid).toBe(true);
    const bad = [
      ...good.slice(0, 2),
      op({ process: 1, type: "invoke", f: "read", key: "r0", value: null, time: 6 }),
    ];
    bad.push(op({ process: 1, type: "ok", f: "read", key: "r0", value: 2, time: 7 }));
    expect((await check(bad, ["register"])).valid).toBe(false);
  });

  it("lock: a stale holder's write accepted after a newer holder's is invalid", async () => {
    const holds = [
      { process: 0, token: 10, leaseRequestedAt: 0, acquiredAt: 0, releasedAt: 20 },
      { process: 1, token: 20, leaseRequestedAt: 3, acquiredAt: 5, releasedAt: 20 },
    ];
    const write = (process: number, token: number, time: number) => ({
      time,
      process,
      token,
      accepted: true,
    });
    const observed = (writes: ReturnType<typeof write>[]) => ({
      locks: { lock: { fenced: true, log: { holds, writes } } },
      electionTimeoutMs: 1_000,
    });
    const ordered = observed([write(0, 10, 2), write(1, 20, 7)]);
    expect((await check([], ["lock"], ordered)).valid).toBe(true);
    // The fenced resource accepted token 10 after token 20: the fence failed.
    const stale = observed([write(1, 20, 7), write(0, 10, 9)]);
    expect((await check([], ["lock"], stale)).valid).toBe(false);
  });

  it("lease: gone before its TTL is invalid", async () => {
    const history = [
      op({ process: 0, type: "invoke", f: "lease:grant", key: "k", time: 0 }),
      op({
        process: 0,
        type: "ok",
        f: "lease:grant",
        key: "k",
        value: { lease: 1, ttl: 3 },
        time: 10,
      }),
      op({ process: 0, type: "invoke", f: "lease:put", key: "k", time: 11 }),
      op({ process: 0, type: "ok", f: "lease:put", key: "k", time: 12 }),
      op({ process: 0, type: "invoke", f: "lease:read", key: "k", time: 1000 }),
      op({
        process: 0,
        type: "ok",
        f: "lease:read",
        key: "k",
        value: { present: false },
        time: 1001,
      }),
    ];
    expect((await check(history, ["lease"])).valid).toBe(false);
  });
});

describe("jepsen-lite node-log checker", () => {
  it("fails on fatal, assertion or panic lines; counts error lines without failing", () => {
    const dir = mkdtempSync(join(tmpdir(), "jepsen-logs-"));
    try {
      const clean = join(dir, "n1.log");
      const broken = join(dir, "n2.log");
      writeFileSync(clean, '{"level":30,"msg":"serving"}\n{"level":50,"msg":"fsync slow"}\n');
      writeFileSync(
        broken,
        '{"level":30,"msg":"ok"}\n{"level":60,"msg":"AssertionError: commit went backwards"}\n',
      );
      const ok = checkNodeLogs(new Map([["n1", clean]]));
      expect(ok.valid).toBe(true);
      expect(ok.errorLines).toEqual({ n1: 1 });
      const bad = checkNodeLogs(
        new Map([
          ["n1", clean],
          ["n2", broken],
        ]),
      );
      expect(bad.valid).toBe(false);
      expect(String((bad.fatal as string[])[0])).toMatch(/^n2: .*commit went backwards/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
