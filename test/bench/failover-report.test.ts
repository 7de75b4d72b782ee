// The failover bench's arithmetic: which write ends the unavailability, and
// the median/min/max over trials that the table and the JSON report.
import { describe, expect, it } from "vitest";
import {
  type FailoverTrial,
  failedAfterKill,
  failoverTable,
  summarizeTrials,
  unavailabilityMs,
  type WriteRecord,
} from "../../bench/failover-report.js";

const KILL_MS = 1000;

function write(sentAtMs: number, doneAtMs: number, ok: boolean): WriteRecord {
  return { sentAtMs, doneAtMs, ok };
}

describe("unavailabilityMs", () => {
  it("ignores a write sent before the kill even when it is acknowledged after it", () => {
    const records = [write(990, 1500, true), write(1010, 1800, true)];
    expect(unavailabilityMs(records, KILL_MS)).toBe(800);
  });

  it("ignores failed writes sent after the kill", () => {
    const records = [write(1010, 1020, false), write(1100, 3100, false), write(1200, 2400, true)];
    expect(unavailabilityMs(records, KILL_MS)).toBe(1400);
  });

  it("takes the earliest acknowledgement, not the earliest send", () => {
    // Sent first but answered last (e.g. stuck on a follower that forwarded to the dead leader).
    const records = [write(1005, 2900, true), write(1600, 1650, true), write(1700, 1710, true)];
    expect(unavailabilityMs(records, KILL_MS)).toBe(650);
  });

  it("counts a write sent at the very instant of the kill", () => {
    expect(unavailabilityMs([write(KILL_MS, 1300, true)], KILL_MS)).toBe(300);
  });

  it("is null when no write sent after the kill succeeded", () => {
    expect(unavailabilityMs([write(500, 600, true), write(1100, 1200, false)], KILL_MS)).toBeNull();
    expect(unavailabilityMs([], KILL_MS)).toBeNull();
  });

  it("counts the failures clients saw after the kill", () => {
    const records = [write(900, 1005, false), write(1010, 1020, false), write(1030, 1040, true)];
    expect(failedAfterKill(records, KILL_MS)).toBe(1);
  });
});

function trial(n: number, unavailable: number | null, newLeader: number | null): FailoverTrial {
  return {
    trial: n,
    killedEndpoint: "127.0.0.1:1",
    killedPid: 1,
    unavailabilityMs: unavailable,
    newLeaderMs: newLeader,
    writesSent: 10,
    writesAckedBeforeKill: 5,
    writesFailedAfterKill: 1,
  };
}

describe("summarizeTrials", () => {
  it("reports median, min and max of the recovered trials and counts the others", () => {
    const summary = summarizeTrials([
      trial(1, 1500, 1400),
      trial(2, 1100, 1000),
      trial(3, null, 1200),
      trial(4, 1300, null),
      trial(5, 2100, 2000),
    ]);
    expect(summary.trials).toBe(5);
    expect(summary.unrecovered).toBe(1);
    expect(summary.unavailabilityMs).toEqual({ count: 4, median: 1400, min: 1100, max: 2100 });
    expect(summary.newLeaderMs).toEqual({ count: 4, median: 1300, min: 1000, max: 2000 });
  });

  it("has no spread when no trial recovered", () => {
    const summary = summarizeTrials([trial(1, null, null)]);
    expect(summary.unavailabilityMs).toBeNull();
    expect(summary.unrecovered).toBe(1);
  });
});

describe("failoverTable", () => {
  it("sets the medians side by side with their ratio", () => {
    const table = failoverTable(["cairn", "etcd"], {
      cairn: summarizeTrials([trial(1, 1200, 1100), trial(2, 1800, 1700), trial(3, 1500, 1400)]),
      etcd: summarizeTrials([trial(1, 1000, 900), trial(2, 1000, 900)]),
    });
    const lines = table.split("\n");
    expect(lines[0]).toBe("| measure | cairn | etcd | cairn/etcd |");
    expect(lines[2]).toContain("| 1500 [1200–1800] | 1000 [1000–1000] | 1.50× |");
    expect(lines[4]).toContain("| 3 (0) | 2 (0) | – |");
  });

  it("has no ratio column for one target", () => {
    const table = failoverTable(["etcd"], { etcd: summarizeTrials([trial(1, 900, 800)]) });
    expect(table.split("\n")[0]).toBe("| measure | etcd |");
    expect(table).toContain("| 900 [900–900] |");
  });
});
