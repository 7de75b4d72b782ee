// The footprint benchmark's figures per target (load time and rate, RSS and
// data-dir size per member) and the table that sets cairn beside etcd, so
// the arithmetic is testable without starting a cluster.
import { type Cell, type CompareRow, compareTable } from "./compare-table.js";
import { median } from "./stats.js";
import type { TargetKind } from "./targets.js";

export interface MemberFootprint {
  readonly endpoint: string;
  /** Null when the process was gone (or /proc unreadable) when sampled. */
  readonly rssBytes: number | null;
  readonly diskBytes: number;
  readonly diskAllocatedBytes: number;
  readonly files: number;
}

export interface FootprintResult {
  readonly keys: number;
  readonly valueBytes: number;
  readonly loadMs: number;
  /** The member the keys were put through (leaders hold more memory than followers). */
  readonly leaderEndpoint: string;
  /** Members before the load (idle, freshly elected) and after it had been applied everywhere. */
  readonly before: readonly MemberFootprint[];
  readonly after: readonly MemberFootprint[];
}

export function putsPerSecond(result: FootprintResult): number {
  return result.loadMs > 0 ? result.keys / (result.loadMs / 1000) : Number.NaN;
}

const MIB = 1024 * 1024;

function mib(bytes: number | null): Cell | null {
  return bytes === null || !Number.isFinite(bytes)
    ? null
    : { value: bytes, text: (bytes / MIB).toFixed(1) };
}

function present(values: readonly (number | null)[]): number[] {
  return values.filter((v): v is number => v !== null);
}

/** Max (or median) over members of one figure; null when no member has it. */
function across(
  members: readonly MemberFootprint[],
  pick: (m: MemberFootprint) => number | null,
  how: "max" | "median",
): number | null {
  const values = present(members.map(pick));
  if (values.length === 0) return null;
  return how === "max" ? Math.max(...values) : median(values);
}

/** One row per measure, a column per target; per-member rows follow the summaries. */
export function footprintRows(
  kinds: readonly TargetKind[],
  results: Partial<Record<TargetKind, FootprintResult>>,
): CompareRow[] {
  const row = (
    measure: string,
    cell: (r: FootprintResult) => Cell | null,
    ratio = true,
  ): CompareRow => ({
    measure,
    ratio,
    cells: Object.fromEntries(
      kinds.map((k) => {
        const result = results[k];
        return [k, result === undefined ? null : cell(result)];
      }),
    ),
  });
  const rss = (m: MemberFootprint) => m.rssBytes;
  const disk = (m: MemberFootprint) => m.diskBytes;
  const memberCount = Math.max(0, ...kinds.map((k) => results[k]?.after.length ?? 0));
  return [
    row("load s", (r) => ({ value: r.loadMs, text: (r.loadMs / 1000).toFixed(1) })),
    row("load puts/s", (r) => {
      const rate = putsPerSecond(r);
      return { value: rate, text: rate.toFixed(0) };
    }),
    row("RSS per node, max MiB", (r) => mib(across(r.after, rss, "max"))),
    row("RSS per node, median MiB", (r) => mib(across(r.after, rss, "median"))),
    row("RSS per node before load, median MiB", (r) => mib(across(r.before, rss, "median"))),
    row("disk per node, max MiB (file sizes)", (r) => mib(across(r.after, disk, "max"))),
    row("disk per node, median MiB (file sizes)", (r) => mib(across(r.after, disk, "median"))),
    row("disk per node, max MiB (blocks allocated)", (r) =>
      mib(across(r.after, (m) => m.diskAllocatedBytes, "max")),
    ),
    ...Array.from({ length: memberCount }, (_, i) => [
      row(`member ${i + 1} RSS MiB`, (r) => mib(r.after[i]?.rssBytes ?? null)),
      row(`member ${i + 1} disk MiB`, (r) => mib(r.after[i]?.diskBytes ?? null)),
    ]).flat(),
  ];
}

export function footprintTable(
  kinds: readonly TargetKind[],
  results: Partial<Record<TargetKind, FootprintResult>>,
): string {
  return compareTable(kinds, footprintRows(kinds, results));
}
