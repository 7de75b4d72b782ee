// Performance plots, Jepsen's `perf` checker in miniature: latency of every
// completed op against its call time, and completions per second by
// outcome, both with the fault windows shaded so their effect shows.
//
// Public API:
//   function renderLatency(ops: readonly PairedOp[], windows, runEndMs: number): string
//   function renderThroughput(ops: readonly PairedOp[], windows, runEndMs: number): string

import type { Outcome, PairedOp } from "../history/pair.js";
import type { FaultWindow } from "./faults.js";
import { type Frame, faultBands, fmt, niceStep, OUTCOME_COLORS, timeAxis, xOf } from "./svg.js";

const WIDTH_PX = 1100;
const HEIGHT_PX = 260;

function frameFor(runEndMs: number): Frame {
  return {
    width: WIDTH_PX,
    height: HEIGHT_PX,
    left: 60,
    right: 10,
    top: 10,
    bottom: 24,
    t0: 0,
    t1: Math.max(runEndMs, 1),
  };
}

/** Maps a value in [0, max] to a y coordinate in the frame, 0 at the bottom. */
function yOf(frame: Frame, value: number, max: number): number {
  const h = frame.height - frame.top - frame.bottom;
  return frame.height - frame.bottom - (Math.min(value, max) / Math.max(max, 1e-9)) * h;
}

function valueAxis(frame: Frame, max: number, unit: string): string {
  const step = niceStep(max / 5);
  const parts = [
    `<line class="axis" x1="${frame.left}" y1="${frame.top}" x2="${frame.left}" y2="${frame.height - frame.bottom}"/>`,
  ];
  for (let v = 0; v <= max + 1e-9; v += step) {
    const y = fmt(yOf(frame, v, max));
    parts.push(
      `<line class="grid" x1="${frame.left}" y1="${y}" x2="${frame.width - frame.right}" y2="${y}"/>`,
      `<text class="tick" x="${frame.left - 4}" y="${y}" text-anchor="end" dominant-baseline="middle">${Number(v.toPrecision(3))}${unit}</text>`,
    );
  }
  return parts.join("");
}

function svg(frame: Frame, cls: string, body: string): string {
  return (
    `<svg class="${cls}" xmlns="http://www.w3.org/2000/svg" width="${frame.width}" height="${frame.height}" ` +
    `viewBox="0 0 ${frame.width} ${frame.height}">${body}</svg>`
  );
}

/** Ops that never completed have no latency and are left out. */
export function renderLatency(
  ops: readonly PairedOp[],
  windows: readonly FaultWindow[],
  runEndMs: number,
): string {
  const frame = frameFor(runEndMs);
  const points = ops.flatMap((op) =>
    op.completeTime === undefined ? [] : [{ op, latencyMs: op.completeTime - op.callTime }],
  );
  const max = niceStep(points.reduce((m, p) => Math.max(m, p.latencyMs), 1));
  const dots = points.map(
    ({ op, latencyMs }) =>
      `<circle class="${op.outcome}" cx="${fmt(xOf(frame, op.callTime))}" cy="${fmt(yOf(frame, latencyMs, max))}" ` +
      `r="2" fill="${OUTCOME_COLORS[op.outcome]}"/>`,
  );
  return svg(
    frame,
    "latency",
    faultBands(frame, windows) + valueAxis(frame, max, "ms") + dots.join("") + timeAxis(frame),
  );
}

/** Completions per whole second of run time, one line per outcome. */
export function renderThroughput(
  ops: readonly PairedOp[],
  windows: readonly FaultWindow[],
  runEndMs: number,
): string {
  const frame = frameFor(runEndMs);
  const seconds = Math.max(1, Math.ceil(runEndMs / 1000));
  const outcomes: Outcome[] = ["ok", "fail", "info"];
  const buckets = new Map(outcomes.map((o) => [o, new Array<number>(seconds).fill(0)]));
  for (const op of ops) {
    const series = buckets.get(op.outcome);
    if (series === undefined || op.completeTime === undefined) continue;
    const s = Math.min(seconds - 1, Math.floor(op.completeTime / 1000));
    series[s] = (series[s] ?? 0) + 1;
  }
  const max = niceStep([...buckets.values()].flat().reduce((m, n) => Math.max(m, n), 1));
  const lines = outcomes.map((outcome) => {
    const series = buckets.get(outcome) ?? [];
    const pts = series
      .map((n, s) => `${fmt(xOf(frame, s * 1000 + 500))},${fmt(yOf(frame, n, max))}`)
      .join(" ");
    return `<polyline class="${outcome}" fill="none" stroke="${OUTCOME_COLORS[outcome]}" stroke-width="1.5" points="${pts}"/>`;
  });
  return svg(
    frame,
    "throughput",
    faultBands(frame, windows) + valueAxis(frame, max, "/s") + lines.join("") + timeAxis(frame),
  );
}
