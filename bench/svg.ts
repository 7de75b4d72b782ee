// Throughput against concurrency as a standalone SVG: one line per target
// (cairn, etcd) over the client counts measured, x on a log2 scale, y linear
// from 0. Pure: summaries in, markup out, so the chart is tested as text.
import type { Summary } from "./report.js";

/** The figures a point needs; a Summary has them all. */
export type ChartPoint = Pick<
  Summary,
  "concurrency" | "runs" | "opsPerSecond" | "opsPerSecondMin" | "opsPerSecondMax"
>;

export interface ChartSeries {
  readonly label: string;
  readonly points: readonly ChartPoint[];
}

export interface ChartText {
  /** The workload's name; the title is "<workload>: throughput vs concurrency". */
  readonly workload: string;
  /** A line under the title, e.g. the setup (members, channels, repetitions). */
  readonly subtitle?: string;
}

const WIDTH = 760;
const HEIGHT = 440;
const PLOT = { left: 84, right: 600, top: 64, bottom: 370 } as const;
/** Keeps the first and last client counts off the axes. */
const X_INSET = 24;
const Y_TICKS_TARGET = 5;
const COLORS: Readonly<Record<string, string>> = { cairn: "#1f6fb2", etcd: "#e0740b" };
const FALLBACK_COLORS = ["#2ca02c", "#9467bd", "#8c564b", "#d62728"] as const;

/** Text and attribute values with the five XML specials replaced. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function fixed(n: number): string {
  return n.toFixed(1);
}

/** A tick step of 1, 2 or 5 × 10^k giving about `Y_TICKS_TARGET` ticks up to `max`. */
export function niceStep(max: number): number {
  if (!(max > 0) || !Number.isFinite(max)) return 1;
  const rough = max / Y_TICKS_TARGET;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough);
  return step ?? 10 * power;
}

function yLabel(value: number, step: number): string {
  if (value === 0) return "0";
  if (step >= 1000) return `${value / 1000}k`;
  return step >= 1 ? value.toFixed(0) : value.toFixed(Math.ceil(-Math.log10(step)));
}

function colorOf(label: string, index: number): string {
  return COLORS[label] ?? FALLBACK_COLORS[index % FALLBACK_COLORS.length] ?? "#000000";
}

/** Maps client counts to x (log2, spread over the plot) and ops/s to y (0 at the bottom). */
function scales(series: readonly ChartSeries[]) {
  const levels = [...new Set(series.flatMap((s) => s.points.map((p) => p.concurrency)))].sort(
    (a, b) => a - b,
  );
  const low = Math.log2(levels[0] ?? 1);
  const high = Math.log2(levels[levels.length - 1] ?? 1);
  const span = PLOT.right - PLOT.left - 2 * X_INSET;
  const x = (concurrency: number): number =>
    high === low
      ? (PLOT.left + PLOT.right) / 2
      : PLOT.left + X_INSET + ((Math.log2(concurrency) - low) / (high - low)) * span;
  const peak = Math.max(
    0,
    ...series.flatMap((s) =>
      s.points.flatMap((p) => [p.opsPerSecond, p.opsPerSecondMax].filter(Number.isFinite)),
    ),
  );
  const step = niceStep(peak);
  const top = Math.max(step, Math.ceil(peak / step) * step);
  const y = (ops: number): number => PLOT.bottom - (ops / top) * (PLOT.bottom - PLOT.top);
  return { levels, x, y, step, top };
}

function axes(scale: ReturnType<typeof scales>): string[] {
  const out: string[] = [];
  const ticks = Math.round(scale.top / scale.step);
  for (let i = 0; i <= ticks; i++) {
    const value = i * scale.step;
    const y = fixed(scale.y(value));
    out.push(
      `<line class="grid" x1="${PLOT.left}" y1="${y}" x2="${PLOT.right}" y2="${y}" stroke="#e4e4e4"/>`,
      `<text class="y-tick" x="${PLOT.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${yLabel(value, scale.step)}</text>`,
    );
  }
  for (const level of scale.levels) {
    const x = fixed(scale.x(level));
    out.push(
      `<line x1="${x}" y1="${PLOT.bottom}" x2="${x}" y2="${PLOT.bottom + 5}" stroke="#444"/>`,
      `<text class="x-tick" x="${x}" y="${PLOT.bottom + 20}" text-anchor="middle">${level}</text>`,
    );
  }
  out.push(
    `<path d="M${PLOT.left},${PLOT.top} V${PLOT.bottom} H${PLOT.right}" fill="none" stroke="#444"/>`,
    `<text x="${(PLOT.left + PLOT.right) / 2}" y="${PLOT.bottom + 44}" text-anchor="middle">concurrent clients (log scale)</text>`,
    `<text x="20" y="${(PLOT.top + PLOT.bottom) / 2}" text-anchor="middle" transform="rotate(-90 20 ${(PLOT.top + PLOT.bottom) / 2})">ops/s</text>`,
  );
  return out;
}

/** A line through the medians, a dot per level, and a min–max whisker where repetitions differ. */
function line(s: ChartSeries, color: string, scale: ReturnType<typeof scales>): string[] {
  const points = [...s.points]
    .filter((p) => Number.isFinite(p.opsPerSecond))
    .sort((a, b) => a.concurrency - b.concurrency);
  const out = [`<g class="series" data-label="${escapeXml(s.label)}" fill="${color}">`];
  if (points.length > 0) {
    const coordinates = points.map(
      (p) => `${fixed(scale.x(p.concurrency))},${fixed(scale.y(p.opsPerSecond))}`,
    );
    out.push(
      `<polyline points="${coordinates.join(" ")}" fill="none" stroke="${color}" stroke-width="2"/>`,
    );
  }
  for (const p of points) {
    const x = fixed(scale.x(p.concurrency));
    if (p.runs > 1 && p.opsPerSecondMax > p.opsPerSecondMin)
      out.push(
        `<line class="range" x1="${x}" y1="${fixed(scale.y(p.opsPerSecondMin))}" x2="${x}" y2="${fixed(scale.y(p.opsPerSecondMax))}" stroke="${color}"/>`,
      );
    out.push(
      `<circle cx="${x}" cy="${fixed(scale.y(p.opsPerSecond))}" r="4"><title>${escapeXml(s.label)}, ${p.concurrency} clients: ${p.opsPerSecond.toFixed(0)} ops/s</title></circle>`,
    );
  }
  out.push("</g>");
  return out;
}

function legend(series: readonly ChartSeries[]): string[] {
  return series.flatMap((s, i) => {
    const y = PLOT.top + 10 + i * 22;
    const color = colorOf(s.label, i);
    return [
      `<line x1="${PLOT.right + 20}" y1="${y}" x2="${PLOT.right + 44}" y2="${y}" stroke="${color}" stroke-width="2"/>`,
      `<circle cx="${PLOT.right + 32}" cy="${y}" r="4" fill="${color}"/>`,
      `<text class="legend" x="${PLOT.right + 52}" y="${y}" dominant-baseline="middle">${escapeXml(s.label)}</text>`,
    ];
  });
}

/** The whole chart as an SVG document. */
export function throughputSvg(text: ChartText, series: readonly ChartSeries[]): string {
  const title = `${text.workload}: throughput vs concurrency`;
  const scale = scales(series);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text class="title" x="${PLOT.left}" y="26" font-size="16" font-weight="bold">${escapeXml(title)}</text>`,
    ...(text.subtitle === undefined
      ? []
      : [
          `<text class="subtitle" x="${PLOT.left}" y="46" fill="#555">${escapeXml(text.subtitle)}</text>`,
        ]),
    ...axes(scale),
    ...series.flatMap((s, i) => line(s, colorOf(s.label, i), scale)),
    ...legend(series),
    "</svg>",
    "",
  ].join("\n");
}
