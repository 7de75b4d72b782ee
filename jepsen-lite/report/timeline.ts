// The timeline: one row per client process, one bar per op from call to
// completion, colored by outcome, fault windows shaded behind. Ops that are
// part of the counterexample get an outline and a link to it.
//
// Public API:
//   function renderTimeline(ops: readonly PairedOp[], windows: readonly FaultWindow[],
//                           runEndMs: number, highlighted: ReadonlySet<number>): string
//   function describeOp(op: PairedOp): string          (plain text; escape it)

import type { PairedOp } from "../history/pair.js";
import type { FaultWindow } from "./faults.js";
import {
  escapeHtml,
  type Frame,
  faultBands,
  fmt,
  OUTCOME_COLORS,
  show,
  timeAxis,
  xOf,
} from "./svg.js";

const ROW_HEIGHT_PX = 14;
const WIDTH_PX = 1100;

/** `highlighted` holds invokeIndex values of ops to outline. */
export function renderTimeline(
  ops: readonly PairedOp[],
  windows: readonly FaultWindow[],
  runEndMs: number,
  highlighted: ReadonlySet<number>,
): string {
  const processes = [...new Set(ops.map((op) => op.process))].sort((a, b) => a - b);
  const row = new Map(processes.map((p, k) => [p, k]));
  const frame: Frame = {
    width: WIDTH_PX,
    height: 30 + processes.length * ROW_HEIGHT_PX + 20,
    left: 50,
    right: 10,
    top: 10,
    bottom: 20,
    t0: 0,
    t1: Math.max(runEndMs, 1),
  };
  const parts: string[] = [faultBands(frame, windows)];
  for (const [k, p] of processes.entries()) {
    const y = frame.top + k * ROW_HEIGHT_PX;
    parts.push(
      `<text class="tick" x="${frame.left - 4}" y="${y + 10}" text-anchor="end">p${p}</text>`,
    );
  }
  for (const op of ops) {
    const y = frame.top + (row.get(op.process) ?? 0) * ROW_HEIGHT_PX + 2;
    const x0 = xOf(frame, op.callTime);
    const x1 = xOf(frame, op.completeTime ?? runEndMs);
    const mark = highlighted.has(op.invokeIndex);
    const bar =
      `<rect class="op ${op.outcome}${mark ? " culprit" : ""}" x="${fmt(x0)}" y="${y}" ` +
      `width="${fmt(Math.max(x1 - x0, 1.5))}" height="${ROW_HEIGHT_PX - 4}" fill="${OUTCOME_COLORS[op.outcome]}">` +
      `<title>${escapeHtml(describeOp(op))}</title></rect>`;
    parts.push(mark ? `<a href="#op-${op.invokeIndex}">${bar}</a>` : bar);
  }
  parts.push(timeAxis(frame));
  return (
    `<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="${frame.width}" height="${frame.height}" ` +
    `viewBox="0 0 ${frame.width} ${frame.height}">${parts.join("")}</svg>`
  );
}

export function describeOp(op: PairedOp): string {
  const key = op.key !== undefined ? ` ${show(op.key)}` : "";
  const input = op.input !== undefined ? ` ${show(op.input)}` : "";
  const output = op.outcome === "ok" && op.output !== undefined ? ` → ${show(op.output)}` : "";
  const end = op.completeTime !== undefined ? `${op.completeTime.toFixed(1)}` : "…";
  return (
    `#${op.invokeIndex} p${op.process} ${op.f}${key}${input}${output} ` +
    `[${op.outcome}] ${op.callTime.toFixed(1)}–${end} ms`
  );
}
