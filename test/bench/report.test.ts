// Summaries over repetitions with per-member CPU and memory, the tables that
// show them, and the data-on-disk line.
import { describe, expect, it } from "vitest";
import {
  comparisonTable,
  diskLine,
  type MemberDisk,
  singleTable,
  summarize,
} from "../../bench/report.js";
import type { RunResult } from "../../bench/runner.js";

const MIB = 2 ** 20;

function run(
  concurrency: number,
  opsPerSecond: number,
  cpu: readonly (number | null)[],
  rssMib: readonly (number | null)[],
): RunResult {
  const present = cpu.filter((c): c is number => c !== null);
  return {
    concurrency,
    opsPerSecond,
    operations: opsPerSecond * 10,
    errors: 0,
    firstError: null,
    serverCpuPercent:
      present.length === cpu.length && cpu.length > 0 ? present.reduce((a, b) => a + b) : null,
    serverCpuPercentPerProcess: cpu,
    serverRssBytesPerProcess: rssMib.map((m) => (m === null ? null : m * MIB)),
    loadgenCpuPercent: 50,
    p50Ms: 1,
    p99Ms: 2,
    p999Ms: 3,
    maxMs: 4,
  };
}

describe("summarize with per-member figures", () => {
  // Three repetitions of a 3-member cluster; the leader (busiest) moves between repetitions.
  const repetitions = [
    [run(16, 1000, [90, 30, 20], [100, 80, 70])],
    [run(16, 1200, [25, 95, 35], [85, 120, 75])],
    [run(16, 1100, [40, 20, 80], [90, 70, 110])],
  ];
  const [summary] = summarize(repetitions);

  it("takes each member's median over repetitions, in member order", () => {
    expect(summary?.serverCpuPercentPerMember).toEqual([40, 30, 35]);
    expect(summary?.serverRssBytesPerMember).toEqual([90 * MIB, 80 * MIB, 75 * MIB]);
  });

  it("takes the busiest member of each run, then the median of those", () => {
    // Per run: max CPU 90, 95, 80 → median 90; max RSS 100, 120, 110 → median 110.
    expect(summary?.serverCpuPercentMaxPerMember).toBe(90);
    expect(summary?.serverRssBytesMaxPerMember).toBe(110 * MIB);
  });

  it("keeps the all-members sum as the median of the runs' sums", () => {
    // Sums 140, 155, 140.
    expect(summary?.serverCpuPercent).toBe(140);
  });

  it("skips a member's missing samples and is null when no run had any", () => {
    const [partial] = summarize([
      [run(1, 10, [50, null], [60, null])],
      [run(1, 10, [70, null], [null, null])],
    ]);
    expect(partial?.serverCpuPercentPerMember).toEqual([60, null]);
    expect(partial?.serverRssBytesPerMember).toEqual([60 * MIB, null]);
    // A run with a missing member has no sum; the runs' max still counts the members read.
    expect(partial?.serverCpuPercent).toBeNull();
    expect(partial?.serverCpuPercentMaxPerMember).toBe(60);
    expect(partial?.serverRssBytesMaxPerMember).toBe(60 * MIB);
    const [remote] = summarize([[run(1, 10, [], [])]]);
    expect(remote?.serverCpuPercentPerMember).toEqual([]);
    expect(remote?.serverCpuPercentMaxPerMember).toBeNull();
    expect(remote?.serverRssBytesMaxPerMember).toBeNull();
  });
});

/** The cells of the table's row for `clients`, by column title. */
function rowOf(table: string, clients: number): Record<string, string> {
  const [head = "", , ...rows] = table.split("\n");
  const split = (line: string) =>
    line
      .slice(2, -2)
      .split(" | ")
      .map((c) => c.trim());
  const titles = split(head);
  const row = rows.map(split).find((cells) => cells[1] === String(clients)) ?? [];
  expect(row).toHaveLength(titles.length);
  return Object.fromEntries(titles.map((t, i) => [t, row[i] ?? ""]));
}

describe("the tables", () => {
  const cairn = summarize([[run(1, 500, [60, 15, 15], [120.5, 90, 90])]]);
  const etcd = summarize([[run(1, 400, [40, 10, 12], [50, 48, 47.25])]]);

  it("show the max-per-member CPU and RSS in a single target's table", () => {
    const row = rowOf(singleTable("put", cairn), 1);
    expect(row["server CPU %"]).toBe("90");
    expect(row["server CPU % (max per member)"]).toBe("60");
    expect(row["RSS MiB (max per member)"]).toBe("120.5");
  });

  it("set cairn's beside etcd's in the comparison", () => {
    const row = rowOf(comparisonTable("put", cairn, etcd), 1);
    expect(row["server CPU % cairn / etcd"]).toBe("90 / 62");
    expect(row["server CPU % (max per member) cairn / etcd"]).toBe("60 / 40");
    expect(row["RSS MiB (max per member) cairn / etcd"]).toBe("120.5 / 50.0");
  });

  it("keep the column count when etcd lacks a level, and dash what was not measured", () => {
    const missing = rowOf(comparisonTable("put", summarize([[run(8, 1, [], [])]]), etcd), 8);
    expect(missing["etcd ops/s"]).toBe("–");
    const remote = rowOf(singleTable("put", summarize([[run(8, 1, [], [])]])), 8);
    expect(remote["RSS MiB (max per member)"]).toBe("–");
  });
});

describe("diskLine", () => {
  const disk = (member: string, mib: number): MemberDisk => ({
    member,
    dataDir: `/tmp/x/${member}`,
    bytes: mib * MIB,
    allocatedBytes: mib * MIB,
    files: 3,
  });

  it("names each member with its size in MiB", () => {
    expect(diskLine("cairn", [[disk("n1", 12.34), disk("n2", 12.3), disk("n3", 0.04)]])).toBe(
      "cairn data on disk after the run: n1 12.3 MiB, n2 12.3 MiB, n3 0.0 MiB",
    );
  });

  it("gives each member's median over repetitions", () => {
    const line = diskLine("etcd", [
      [disk("n1", 10), disk("n2", 30)],
      [disk("n1", 20), disk("n2", 10)],
      [disk("n1", 60), disk("n2", 20)],
    ]);
    expect(line).toBe(
      "etcd data on disk after the run (median of 3 repetitions): n1 20.0 MiB, n2 20.0 MiB",
    );
  });

  it("is null when no data dir was measured (--endpoints)", () => {
    expect(diskLine("cairn", [[], []])).toBeNull();
  });
});
