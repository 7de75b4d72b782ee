// The footprint table: per-node RSS and disk summaries, ratio cairn/etcd.
import { describe, expect, it } from "vitest";
import {
  type FootprintResult,
  footprintTable,
  type MemberFootprint,
  putsPerSecond,
} from "../../bench/footprint-report.js";

const MIB = 1024 * 1024;

function member(rssMib: number | null, diskMib: number): MemberFootprint {
  return {
    endpoint: "127.0.0.1:1",
    rssBytes: rssMib === null ? null : rssMib * MIB,
    diskBytes: diskMib * MIB,
    diskAllocatedBytes: diskMib * MIB,
    files: 3,
  };
}

function result(loadMs: number, after: MemberFootprint[]): FootprintResult {
  return {
    keys: 100_000,
    valueBytes: 256,
    loadMs,
    leaderEndpoint: "127.0.0.1:1",
    before: after,
    after,
  };
}

function rowOf(table: string, measure: string): string {
  const line = table.split("\n").find((l) => l.startsWith(`| ${measure} |`));
  if (line === undefined) throw new Error(`no row ${measure} in\n${table}`);
  return line;
}

describe("footprint table", () => {
  const cairn = result(20_000, [member(100, 40), member(80, 30), member(90, 50)]);
  const etcd = result(10_000, [member(50, 80), member(40, 100), member(60, 90)]);
  const table = footprintTable(["cairn", "etcd"], { cairn, etcd });

  it("computes the load rate from keys and time", () => {
    expect(putsPerSecond(cairn)).toBe(5000);
    expect(rowOf(table, "load puts/s")).toBe("| load puts/s | 5000 | 10000 | 0.50× |");
  });

  it("reports the max and median over members with the ratio", () => {
    expect(rowOf(table, "RSS per node, max MiB")).toBe(
      "| RSS per node, max MiB | 100.0 | 60.0 | 1.67× |",
    );
    expect(rowOf(table, "RSS per node, median MiB")).toBe(
      "| RSS per node, median MiB | 90.0 | 50.0 | 1.80× |",
    );
    expect(rowOf(table, "disk per node, max MiB (file sizes)")).toBe(
      "| disk per node, max MiB (file sizes) | 50.0 | 100.0 | 0.50× |",
    );
  });

  it("lists every member", () => {
    expect(rowOf(table, "member 2 disk MiB")).toBe("| member 2 disk MiB | 30.0 | 100.0 | 0.30× |");
  });

  it("leaves out a member whose RSS could not be read and shows a dash when none could", () => {
    const partial = footprintTable(["cairn"], {
      cairn: result(1000, [member(null, 1), member(70, 1), member(30, 1)]),
    });
    expect(rowOf(partial, "RSS per node, median MiB")).toBe("| RSS per node, median MiB | 50.0 |");
    expect(rowOf(partial, "member 1 RSS MiB")).toBe("| member 1 RSS MiB | – |");
  });
});
