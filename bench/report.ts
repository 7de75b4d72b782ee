// Summaries and markdown tables for the benchmark: medians over repetitions
// per concurrency, one table per target, or cairn and etcd side by side with
// the ratio cairn/etcd (above 1 is better for ops/s, below 1 for latency);
// and the line saying what each member left on disk.
import type { RunResult } from "./runner.js";
import { median } from "./stats.js";

export interface Summary {
  readonly concurrency: number;
  readonly runs: number;
  readonly opsPerSecond: number;
  readonly opsPerSecondMin: number;
  readonly opsPerSecondMax: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  readonly errors: number;
  readonly firstError: string | null;
  /** All members together, in percent of one core. */
  readonly serverCpuPercent: number | null;
  /** The busiest member's CPU % in each run (usually the leader's), median over repetitions. */
  readonly serverCpuPercentMaxPerMember: number | null;
  /** Each member's CPU %, in member order (n1, n2, …), median over repetitions. */
  readonly serverCpuPercentPerMember: readonly (number | null)[];
  /** The largest member's RSS at the end of each run, median over repetitions. */
  readonly serverRssBytesMaxPerMember: number | null;
  /** Each member's RSS at the end of the run, in member order, median over repetitions. */
  readonly serverRssBytesPerMember: readonly (number | null)[];
  readonly loadgenCpuPercent: number;
}

/** The median of the values present; null when none is. */
function medianPresent(values: readonly (number | null | undefined)[]): number | null {
  const present = values.filter((v): v is number => typeof v === "number");
  return present.length === 0 ? null : median(present);
}

/** The largest value present; null when none is. */
function maxPresent(values: readonly (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : Math.max(...present);
}

/** Per member index, the median over runs of that member's figure. */
function perMember(
  runs: readonly RunResult[],
  pick: (r: RunResult) => readonly (number | null)[],
): (number | null)[] {
  const members = Math.max(0, ...runs.map((r) => pick(r).length));
  return Array.from({ length: members }, (_, i) => medianPresent(runs.map((r) => pick(r)[i])));
}

/** One summary per concurrency level, over every repetition's result at that level. */
export function summarize(repetitions: readonly (readonly RunResult[])[]): Summary[] {
  const levels = [...new Set(repetitions.flat().map((r) => r.concurrency))];
  return levels.map((concurrency) => {
    const runs = repetitions.flat().filter((r) => r.concurrency === concurrency);
    const ops = runs.map((r) => r.opsPerSecond);
    const cpuPerProcess = (r: RunResult) => r.serverCpuPercentPerProcess;
    const rssPerProcess = (r: RunResult) => r.serverRssBytesPerProcess;
    return {
      concurrency,
      runs: runs.length,
      opsPerSecond: median(ops),
      opsPerSecondMin: Math.min(...ops),
      opsPerSecondMax: Math.max(...ops),
      p50Ms: median(runs.map((r) => r.p50Ms)),
      p99Ms: median(runs.map((r) => r.p99Ms)),
      p999Ms: median(runs.map((r) => r.p999Ms)),
      maxMs: Math.max(...runs.map((r) => r.maxMs)),
      errors: runs.reduce((sum, r) => sum + r.errors, 0),
      firstError: runs.find((r) => r.firstError !== null)?.firstError ?? null,
      serverCpuPercent: medianPresent(runs.map((r) => r.serverCpuPercent)),
      serverCpuPercentMaxPerMember: medianPresent(runs.map((r) => maxPresent(cpuPerProcess(r)))),
      serverCpuPercentPerMember: perMember(runs, cpuPerProcess),
      serverRssBytesMaxPerMember: medianPresent(runs.map((r) => maxPresent(rssPerProcess(r)))),
      serverRssBytesPerMember: perMember(runs, rssPerProcess),
      loadgenCpuPercent: median(runs.map((r) => r.loadgenCpuPercent)),
    };
  });
}

function opsCell(s: Summary): string {
  const value = s.opsPerSecond.toFixed(0);
  return s.runs > 1
    ? `${value} [${s.opsPerSecondMin.toFixed(0)}–${s.opsPerSecondMax.toFixed(0)}]`
    : value;
}

function ratio(cairn: number, etcd: number): string {
  if (!(etcd > 0) || !Number.isFinite(cairn)) return "–";
  return `${(cairn / etcd).toFixed(2)}×`;
}

const MIB = 1024 * 1024;

function percentCell(percent: number | null): string {
  return percent?.toFixed(0) ?? "–";
}

function mibCell(bytes: number | null): string {
  return bytes === null ? "–" : (bytes / MIB).toFixed(1);
}

function row(cells: readonly (string | number)[]): string {
  return `| ${cells.join(" | ")} |`;
}

function header(titles: readonly string[]): string {
  return [row(titles), `|${titles.map(() => "---|").join("")}`].join("\n");
}

export function singleTable(workload: string, summaries: readonly Summary[]): string {
  const head = header([
    "workload",
    "clients",
    "ops/s",
    "p50 ms",
    "p99 ms",
    "p99.9 ms",
    "max ms",
    "errors",
    "server CPU %",
    "server CPU % (max per member)",
    "RSS MiB (max per member)",
    "loadgen CPU %",
  ]);
  const rows = summaries.map((s) =>
    row([
      workload,
      s.concurrency,
      opsCell(s),
      s.p50Ms.toFixed(2),
      s.p99Ms.toFixed(2),
      s.p999Ms.toFixed(2),
      s.maxMs.toFixed(1),
      s.errors,
      percentCell(s.serverCpuPercent),
      percentCell(s.serverCpuPercentMaxPerMember),
      mibCell(s.serverRssBytesMaxPerMember),
      s.loadgenCpuPercent.toFixed(0),
    ]),
  );
  return [head, ...rows].join("\n");
}

export function comparisonTable(
  workload: string,
  cairn: readonly Summary[],
  etcd: readonly Summary[],
): string {
  const titles = [
    "workload",
    "clients",
    "cairn ops/s",
    "etcd ops/s",
    "ops/s cairn/etcd",
    "cairn p99 ms",
    "etcd p99 ms",
    "p99 cairn/etcd",
    "cairn p50 ms",
    "etcd p50 ms",
    "errors cairn / etcd",
    "server CPU % cairn / etcd",
    "server CPU % (max per member) cairn / etcd",
    "RSS MiB (max per member) cairn / etcd",
  ];
  const rows = cairn.map((c) => {
    const e = etcd.find((s) => s.concurrency === c.concurrency);
    if (e === undefined)
      return row([workload, c.concurrency, opsCell(c), ...titles.slice(3).map(() => "–")]);
    const pair = (format: (s: Summary) => string): string => `${format(c)} / ${format(e)}`;
    return row([
      workload,
      c.concurrency,
      opsCell(c),
      opsCell(e),
      ratio(c.opsPerSecond, e.opsPerSecond),
      c.p99Ms.toFixed(2),
      e.p99Ms.toFixed(2),
      ratio(c.p99Ms, e.p99Ms),
      c.p50Ms.toFixed(2),
      e.p50Ms.toFixed(2),
      pair((s) => String(s.errors)),
      pair((s) => percentCell(s.serverCpuPercent)),
      pair((s) => percentCell(s.serverCpuPercentMaxPerMember)),
      pair((s) => mibCell(s.serverRssBytesMaxPerMember)),
    ]);
  });
  return [header(titles), ...rows].join("\n");
}

/** What one member's data dir held after a repetition's runs, before the target stopped. */
export interface MemberDisk {
  /** n1, n2, …: the member's place in endpoint order. */
  readonly member: string;
  readonly dataDir: string;
  /** Sum of the files' sizes (apparent size). */
  readonly bytes: number;
  /** Blocks the files hold on disk. */
  readonly allocatedBytes: number;
  readonly files: number;
}

/**
 * "cairn data on disk after the run: n1 12.3 MiB, n2 …", one figure per
 * member, the median over repetitions; null when nothing was measured (--endpoints).
 */
export function diskLine(
  label: string,
  repetitions: readonly (readonly MemberDisk[])[],
): string | null {
  const members = [...new Set(repetitions.flat().map((d) => d.member))];
  if (members.length === 0) return null;
  const cells = members.map((member) => {
    const bytes = median(repetitions.flat().flatMap((d) => (d.member === member ? [d.bytes] : [])));
    return `${member} ${(bytes / MIB).toFixed(1)} MiB`;
  });
  const of = repetitions.length > 1 ? ` (median of ${repetitions.length} repetitions)` : "";
  return `${label} data on disk after the run${of}: ${cells.join(", ")}`;
}

/** The first error of each target, so a table full of zeros says why. */
export function errorNotes(label: string, summaries: readonly Summary[]): string[] {
  return summaries
    .filter((s) => s.firstError !== null)
    .map((s) => `${label}, ${s.concurrency} clients: ${s.errors} errors, first: ${s.firstError}`);
}
