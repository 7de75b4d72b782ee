// A short jepsen-lite run inside `npm test`: 3 real members behind the
// portable per-link proxies, every nemesis family, register + lock, about
// 30 s of load. It must finish, heal, record ok/fail/info ops, and the
// stand-in checkers must call it valid.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { NEMESIS_FAMILIES } from "../../jepsen-lite/nemesis/faults.js";
import { run } from "../../jepsen-lite/runner/run.js";

const store = mkdtempSync(join(tmpdir(), "jepsen-lite-smoke-"));

describe("jepsen-lite smoke run", { timeout: 240_000 }, () => {
  afterAll(() => rmSync(store, { recursive: true, force: true }));

  it("3 nodes, all nemeses, register + lock: completes, heals and checks valid", async () => {
    const lines: string[] = [];
    const result = await run({
      nodes: 3,
      timeSec: 30,
      nemesis: [...NEMESIS_FAMILIES],
      workloads: ["register", "lock"],
      seed: 20_261_123,
      net: "portable",
      storeDir: store,
      quietMs: [1_000, 2_000],
      holdScale: 0.4,
      minOkBeforeFault: 5,
      progress: (line) => lines.push(line),
    });
    const diagnose = `${lines.join("\n")}\n${JSON.stringify(result.checkers, null, 2).slice(0, 4000)}`;
    expect(result.counts.ok, diagnose).toBeGreaterThan(50);
    expect(result.counts.fail, diagnose).toBeGreaterThan(0);
    expect(result.counts.info, diagnose).toBeGreaterThan(0);
    const starts = result.nemesis.filter((e) => e.kind === "start");
    const stops = result.nemesis.filter((e) => e.kind === "stop");
    expect(starts.length, diagnose).toBeGreaterThanOrEqual(4);
    expect(stops.map((e) => e.fault)).toEqual(starts.map((e) => e.fault));
    // The seeded plan cycles through every kind; a slow machine may cut the tail short.
    const families = new Set(
      starts.map((e) => e.fault.replace(/-.*$/, "").replace("lossy", "slow")),
    );
    expect(families.size, diagnose).toBeGreaterThanOrEqual(3);
    expect(result.checkers.heal?.valid, diagnose).toBe(true);
    expect(result.valid, diagnose).toBe(true);
    const history = readFileSync(join(result.dir, "history.jsonl"), "utf8").trim().split("\n");
    const first = JSON.parse(history[0] ?? "{}") as Record<string, unknown>;
    expect(Object.keys(first)).toEqual(
      expect.arrayContaining(["process", "type", "f", "time", "index"]),
    );
    const nemesisLog = readFileSync(join(result.dir, "nemesis.jsonl"), "utf8").trim().split("\n");
    expect(nemesisLog).toHaveLength(result.nemesis.length);
    const results = JSON.parse(readFileSync(join(result.dir, "results.json"), "utf8")) as {
      valid: unknown;
    };
    expect(results.valid).toBe(true);
  });
});
