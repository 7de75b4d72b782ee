// A markdown table of measures by target (failover, footprint): one column
// per target measured and, when both were, the ratio cairn/etcd of the
// numbers behind the cells (below 1 means cairn used less time or space).
import { ratioCell } from "./stats.js";
import type { TargetKind } from "./targets.js";

/** A figure and how to print it; null when the target has no figure for this measure. */
export interface Cell {
  readonly value: number;
  readonly text: string;
}

export interface CompareRow {
  readonly measure: string;
  readonly cells: Partial<Record<TargetKind, Cell | null>>;
  /** False for rows whose ratio means nothing (counts of trials, settings). */
  readonly ratio?: boolean;
}

export function compareTable(kinds: readonly TargetKind[], rows: readonly CompareRow[]): string {
  const both = kinds.includes("cairn") && kinds.includes("etcd");
  const head = `| measure | ${kinds.join(" | ")} |${both ? " cairn/etcd |" : ""}`;
  const rule = `|---|${kinds.map(() => "---|").join("")}${both ? "---|" : ""}`;
  const lines = rows.map((row) => {
    const cells = kinds.map((kind) => row.cells[kind]?.text ?? "–");
    const ratio = !both
      ? ""
      : row.ratio === false
        ? " – |"
        : ` ${ratioCell(row.cells.cairn?.value ?? null, row.cells.etcd?.value ?? null)} |`;
    return `| ${row.measure} | ${cells.join(" | ")} |${ratio}`;
  });
  return [head, rule, ...lines].join("\n");
}
