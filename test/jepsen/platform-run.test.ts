// A short real-cluster run of the platform workload: 3 members behind the
// portable proxies, the kill nemesis, 20 s of load. Setup must log in and
// create the resources, finish() must read the op log after the heal, and
// the platform checker must hold the acknowledged updates to it.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { PlatformResult } from "../../jepsen-lite/checker/platform.js";
import { run } from "../../jepsen-lite/runner/run.js";

const store = mkdtempSync(join(tmpdir(), "jepsen-lite-platform-"));

describe("jepsen-lite platform run", { timeout: 180_000 }, () => {
  afterAll(() => rmSync(store, { recursive: true, force: true }));

  it("3 nodes, kill: acknowledged updates are in the op log and the run is valid", async () => {
    const lines: string[] = [];
    const result = await run({
      nodes: 3,
      timeSec: 20,
      nemesis: ["kill"],
      workloads: ["platform"],
      seed: 20_261_124,
      net: "portable",
      storeDir: store,
      quietMs: [1_000, 2_000],
      holdScale: 0.5,
      minOkBeforeFault: 5,
      progress: (line) => lines.push(line),
    });
    const diagnose = `${lines.join("\n")}\n${JSON.stringify(result.checkers, null, 2).slice(0, 4000)}`;
    expect(result.nemesis.filter((e) => e.kind === "start").length, diagnose).toBeGreaterThan(0);
    const platform = result.checkers.platform as PlatformResult | undefined;
    expect(platform?.valid, diagnose).toBe(true);
    expect(result.valid, diagnose).toBe(true);
    const results = JSON.parse(readFileSync(join(result.dir, "results.json"), "utf8")) as {
      workloads: { platform: { updates: { ok: number; fail: number; info: number } } };
    };
    const acked = results.workloads.platform.updates.ok;
    expect(acked, diagnose).toBeGreaterThan(0);
    // Every acknowledged update is logged (indeterminate ones may be too).
    expect(platform?.logged ?? 0, diagnose).toBeGreaterThanOrEqual(acked);
  });
});
