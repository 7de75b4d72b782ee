// The whole suite's side-by-side table: one row per workload and client
// count, from the summaries each `bench <workload> --target both` run wrote.
// Pure, so the verdict column ("ahead", "behind") is tested, not eyeballed.
import type { Summary } from "./report.js";

export interface SuiteEntry {
  readonly workload: string;
  readonly cairn: readonly Summary[];
  /** Null when etcd was not measured (cairn-only workload, or etcd not installed). */
  readonly etcd: readonly Summary[] | null;
}

export type Verdict = "ahead" | "behind" | "cairn only";

/**
 * The bar for a row: throughput at least etcd's and p99 no worse.
 * A row with errors on either side is "behind" whatever its figures say.
 */
export function verdict(cairn: Summary, etcd: Summary | undefined): Verdict {
  if (etcd === undefined) return "cairn only";
  if (cairn.errors > 0) return "behind";
  const faster = cairn.opsPerSecond >= etcd.opsPerSecond;
  const tailNoWorse = cairn.p99Ms <= etcd.p99Ms;
  return faster && tailNoWorse ? "ahead" : "behind";
}

function ratio(numerator: number, denominator: number): string {
  return denominator > 0 && Number.isFinite(numerator)
    ? `${(numerator / denominator).toFixed(2)}×`
    : "–";
}

export function suiteTable(entries: readonly SuiteEntry[]): string {
  const head =
    "| workload | clients | cairn ops/s | etcd ops/s | cairn/etcd | cairn p99 ms | etcd p99 ms | " +
    "cairn p50 ms | etcd p50 ms | verdict |";
  const rule = "|---|---|---|---|---|---|---|---|---|---|";
  const rows = entries.flatMap((entry) =>
    entry.cairn.map((c) => {
      const e = entry.etcd?.find((s) => s.concurrency === c.concurrency);
      const etcdOps = e?.opsPerSecond.toFixed(0) ?? "–";
      const opsRatio = e === undefined ? "–" : ratio(c.opsPerSecond, e.opsPerSecond);
      return (
        `| ${entry.workload} | ${c.concurrency} | ${c.opsPerSecond.toFixed(0)} | ${etcdOps} | ` +
        `${opsRatio} | ${c.p99Ms.toFixed(2)} | ${e?.p99Ms.toFixed(2) ?? "–"} | ` +
        `${c.p50Ms.toFixed(2)} | ${e?.p50Ms.toFixed(2) ?? "–"} | ${verdict(c, e)} |`
      );
    }),
  );
  return [head, rule, ...rows].join("\n");
}

/** "n of m rows ahead": the one-line answer to the goal. */
export function scoreLine(entries: readonly SuiteEntry[]): string {
  const verdicts = entries.flatMap((entry) =>
    entry.cairn.map((c) =>
      verdict(
        c,
        entry.etcd?.find((s) => s.concurrency === c.concurrency),
      ),
    ),
  );
  const compared = verdicts.filter((v) => v !== "cairn only");
  const ahead = compared.filter((v) => v === "ahead").length;
  return `cairn ahead of etcd (ops/s ≥ etcd's and p99 ≤ etcd's) in ${ahead} of ${compared.length} compared rows`;
}
