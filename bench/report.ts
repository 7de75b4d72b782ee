// Summaries and markdown tables for the benchmark: medians over repetitions
// per concurrency, one table per target, or cairn and etcd side by side with
// the ratio cairn/etcd (above 1 is better for ops/s, below 1 for latency).
import type { RunResult } from "./runner.js";

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
  readonly serverCpuPercent: number | null;
  readonly loadgenCpuPercent: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** One summary per concurrency level, over every repetition's result at that level. */
export function summarize(repetitions: readonly (readonly RunResult[])[]): Summary[] {
  const levels = [...new Set(repetitions.flat().map((r) => r.concurrency))];
  return levels.map((concurrency) => {
    const runs = repetitions.flat().filter((r) => r.concurrency === concurrency);
    const ops = runs.map((r) => r.opsPerSecond);
    const cpu = runs.flatMap((r) => (r.serverCpuPercent === null ? [] : [r.serverCpuPercent]));
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
      serverCpuPercent: cpu.length === 0 ? null : median(cpu),
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

export function singleTable(workload: string, summaries: readonly Summary[]): string {
  const head =
    "| workload | clients | ops/s | p50 ms | p99 ms | p99.9 ms | max ms | errors | server CPU % | loadgen CPU % |";
  const rule = "|---|---|---|---|---|---|---|---|---|---|";
  const rows = summaries.map(
    (s) =>
      `| ${workload} | ${s.concurrency} | ${opsCell(s)} | ${s.p50Ms.toFixed(2)} | ${s.p99Ms.toFixed(2)} | ` +
      `${s.p999Ms.toFixed(2)} | ${s.maxMs.toFixed(1)} | ${s.errors} | ${s.serverCpuPercent?.toFixed(0) ?? "-"} | ` +
      `${s.loadgenCpuPercent.toFixed(0)} |`,
  );
  return [head, rule, ...rows].join("\n");
}

export function comparisonTable(
  workload: string,
  cairn: readonly Summary[],
  etcd: readonly Summary[],
): string {
  const head =
    "| workload | clients | cairn ops/s | etcd ops/s | ops/s cairn/etcd | cairn p99 ms | etcd p99 ms | " +
    "p99 cairn/etcd | cairn p50 ms | etcd p50 ms | errors cairn / etcd | server CPU % cairn / etcd |";
  const rule = "|---|---|---|---|---|---|---|---|---|---|---|---|";
  const rows = cairn.map((c) => {
    const e = etcd.find((s) => s.concurrency === c.concurrency);
    if (e === undefined)
      return `| ${workload} | ${c.concurrency} | ${opsCell(c)} | – | – | – | – | – | – | – | – | – |`;
    const cpu = (s: Summary): string => s.serverCpuPercent?.toFixed(0) ?? "-";
    return (
      `| ${workload} | ${c.concurrency} | ${opsCell(c)} | ${opsCell(e)} | ${ratio(c.opsPerSecond, e.opsPerSecond)} | ` +
      `${c.p99Ms.toFixed(2)} | ${e.p99Ms.toFixed(2)} | ${ratio(c.p99Ms, e.p99Ms)} | ` +
      `${c.p50Ms.toFixed(2)} | ${e.p50Ms.toFixed(2)} | ${c.errors} / ${e.errors} | ${cpu(c)} / ${cpu(e)} |`
    );
  });
  return [head, rule, ...rows].join("\n");
}

/** The first error of each target, so a table full of zeros says why. */
export function errorNotes(label: string, summaries: readonly Summary[]): string[] {
  return summaries
    .filter((s) => s.firstError !== null)
    .map((s) => `${label}, ${s.concurrency} clients: ${s.errors} errors, first: ${s.firstError}`);
}
