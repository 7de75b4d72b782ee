// Small summaries over repeated measurements (failover trials, footprint
// members): median, min and max, and the cairn/etcd ratio cell the tables use.

export interface Spread {
  readonly count: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** The median (mean of the middle two for an even count); NaN for no values. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Median, min and max of `values`, or null when there are none. */
export function spread(values: readonly number[]): Spread | null {
  if (values.length === 0) return null;
  return {
    count: values.length,
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
  };
}

/** "1.23×" for cairn/etcd, or "–" when either side is missing or etcd's is not positive. */
export function ratioCell(cairn: number | null, etcd: number | null): string {
  if (cairn === null || etcd === null || !(etcd > 0) || !Number.isFinite(cairn)) return "–";
  return `${(cairn / etcd).toFixed(2)}×`;
}
