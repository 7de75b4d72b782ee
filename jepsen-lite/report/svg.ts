// Escaping and the few SVG primitives the report's plots share. Everything
// that reaches the page from a history (keys, values, fault details) goes
// through escapeHtml: a stored value must never become markup.
//
// Public API:
//   function escapeHtml(text: string): string
//   function show(value: unknown, maxChars?: number): string     (compact, unescaped)
//   interface Frame { width; height; left; right; top; bottom; t0; t1 }
//   function xOf(frame: Frame, t: number): number
//   function faultBands(frame, windows): string
//   function timeAxis(frame): string
//   const OUTCOME_COLORS: Record<Outcome, string>

import type { Outcome } from "../history/pair.js";
import type { FaultWindow } from "./faults.js";

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Safe in element text and in quoted attribute values alike. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** A short human form of any value; the caller escapes it. */
export function show(value: unknown, maxChars = 60): string {
  let text: string;
  if (value === undefined) text = "";
  else if (typeof value === "string") text = JSON.stringify(value);
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > maxChars ? `${text.slice(0, maxChars - 1)}…` : text;
}

export const OUTCOME_COLORS: Readonly<Record<Outcome, string>> = {
  ok: "#2e9d4f",
  fail: "#d9534f",
  info: "#f0ad4e",
  pending: "#9e9e9e",
};

/** A plot area inside an SVG of width × height, showing times t0..t1 (ms). */
export interface Frame {
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
  readonly t0: number;
  readonly t1: number;
}

export function xOf(frame: Frame, t: number): number {
  const span = Math.max(frame.t1 - frame.t0, 1);
  const clamped = Math.min(Math.max(t, frame.t0), frame.t1);
  return frame.left + ((clamped - frame.t0) / span) * (frame.width - frame.left - frame.right);
}

/** Shaded rectangles for the fault windows, drawn behind the data. */
export function faultBands(frame: Frame, windows: readonly FaultWindow[]): string {
  const y = frame.top;
  const h = frame.height - frame.top - frame.bottom;
  return windows
    .map((w) => {
      const x0 = xOf(frame, w.start);
      const x1 = xOf(frame, w.end);
      const label = `${w.fault} ${(w.start / 1000).toFixed(2)}s–${(w.end / 1000).toFixed(2)}s ${show(w.detail, 120)}`;
      return (
        `<rect class="fault" x="${fmt(x0)}" y="${y}" width="${fmt(Math.max(x1 - x0, 1))}" height="${h}">` +
        `<title>${escapeHtml(label)}</title></rect>`
      );
    })
    .join("");
}

/** Tick marks and second labels along the bottom of the plot area. */
export function timeAxis(frame: Frame): string {
  const y = frame.height - frame.bottom;
  const spanMs = Math.max(frame.t1 - frame.t0, 1);
  const stepMs = niceStep(spanMs / 8);
  const parts = [
    `<line class="axis" x1="${frame.left}" y1="${y}" x2="${frame.width - frame.right}" y2="${y}"/>`,
  ];
  for (let t = Math.ceil(frame.t0 / stepMs) * stepMs; t <= frame.t1; t += stepMs) {
    const x = fmt(xOf(frame, t));
    parts.push(
      `<line class="axis" x1="${x}" y1="${y}" x2="${x}" y2="${y + 4}"/>`,
      `<text class="tick" x="${x}" y="${y + 15}" text-anchor="middle">${formatSeconds(t)}</text>`,
    );
  }
  return parts.join("");
}

/** 1, 2 or 5 times a power of ten, at least `raw`. */
export function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-9)));
  for (const m of [1, 2, 5, 10]) {
    if (m * power >= raw) return m * power;
  }
  return 10 * power;
}

export function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(s < 10 ? 2 : 1)}s`;
}

/** Coordinates with two decimals keep the page small. */
export function fmt(n: number): string {
  return String(Math.round(n * 100) / 100);
}
