import { describe, expect, it } from "vitest";
import type { Summary } from "../../bench/report.js";
import { scoreLine, suiteTable, verdict } from "../../bench/suite-table.js";

function summary(concurrency: number, opsPerSecond: number, p99Ms: number, errors = 0): Summary {
  return {
    concurrency,
    runs: 2,
    opsPerSecond,
    opsPerSecondMin: opsPerSecond,
    opsPerSecondMax: opsPerSecond,
    p50Ms: p99Ms / 4,
    p99Ms,
    p999Ms: p99Ms * 2,
    maxMs: p99Ms * 3,
    errors,
    firstError: errors > 0 ? "UNAVAILABLE" : null,
    serverCpuPercent: 100,
    serverCpuPercentMaxPerMember: 60,
    serverCpuPercentPerMember: [60, 20, 20],
    serverRssBytesMaxPerMember: 100 * 2 ** 20,
    serverRssBytesPerMember: [100 * 2 ** 20, 90 * 2 ** 20, 90 * 2 ** 20],
    loadgenCpuPercent: 20,
  };
}

describe("the suite's verdict per row", () => {
  it("is ahead only with throughput at least etcd's and p99 no worse", () => {
    expect(verdict(summary(1, 1000, 2), summary(1, 900, 3))).toBe("ahead");
    expect(verdict(summary(1, 1000, 2), summary(1, 1000, 2))).toBe("ahead");
    expect(verdict(summary(1, 1000, 4), summary(1, 900, 3))).toBe("behind");
    expect(verdict(summary(1, 800, 2), summary(1, 900, 3))).toBe("behind");
  });

  it("counts a row with errors as behind, and a row without etcd as cairn only", () => {
    expect(verdict(summary(1, 5000, 1, 3), summary(1, 900, 3))).toBe("behind");
    expect(verdict(summary(1, 5000, 1), undefined)).toBe("cairn only");
  });
});

describe("the suite table", () => {
  const entries = [
    {
      workload: "put",
      cairn: [summary(1, 300, 8), summary(16, 3000, 15)],
      etcd: [summary(1, 900, 3), summary(16, 2500, 20)],
    },
    { workload: "platform", cairn: [summary(1, 200, 10)], etcd: null },
  ];

  it("has one row per workload and client count, with the ratio and the verdict", () => {
    const lines = suiteTable(entries).split("\n");
    expect(lines).toHaveLength(2 + 3);
    expect(lines[2]).toBe("| put | 1 | 300 | 900 | 0.33× | 8.00 | 3.00 | 2.00 | 0.75 | behind |");
    expect(lines[3]).toContain("| put | 16 | 3000 | 2500 | 1.20× |");
    expect(lines[3]).toMatch(/\| ahead \|$/);
    expect(lines[4]).toBe("| platform | 1 | 200 | – | – | 10.00 | – | 2.50 | – | cairn only |");
  });

  it("scores only the rows compared with etcd", () => {
    expect(scoreLine(entries)).toContain("in 1 of 2 compared rows");
  });
});
