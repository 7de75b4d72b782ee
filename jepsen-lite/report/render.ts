// report.html: one self-contained page (inline CSS and SVG, no scripts, no
// external assets) with the verdict, each checker's result, the timeline,
// latency and throughput with fault windows shaded, and the counterexample.
//
// Public API:
//   interface ReportOptions { title?: string; maxDetailChars?: number; maxDrawnOps?: number }
//   function renderReport(history: History, nemesisEvents: readonly NemesisEvent[],
//                         results: Results, options?: ReportOptions): string

import {
  type CheckerResult,
  nonFiniteAsString,
  type Results,
  type Validity,
} from "../checker/combine.js";
import type { History } from "../history/op.js";
import { pairHistory } from "../history/pair.js";
import { findCounterexample, renderCounterexample } from "./counterexample.js";
import { faultWindows, type NemesisEvent } from "./faults.js";
import { renderLatency, renderThroughput } from "./plots.js";
import { escapeHtml, formatSeconds, OUTCOME_COLORS, show } from "./svg.js";
import { renderTimeline } from "./timeline.js";

export interface ReportOptions {
  readonly title?: string;
  /** Each checker's raw JSON is cut at this many characters. */
  readonly maxDetailChars?: number;
  /** The timeline and latency plots draw at most this many ops (the earliest; counterexample ops always). */
  readonly maxDrawnOps?: number;
}

const DEFAULT_MAX_DETAIL_CHARS = 20_000;
const DEFAULT_MAX_DRAWN_OPS = 20_000;

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
.verdict{display:inline-block;padding:.15em .6em;border-radius:4px;color:#fff;font-weight:600}
.valid-true{background:#2e9d4f}.valid-false{background:#b00020}.valid-unknown{background:#8a6d3b}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left;vertical-align:top}
tr.unlinearizable td{background:#fde2e4}
svg{display:block;margin:.4em 0;background:#fafafa;border:1px solid #eee}
rect.fault{fill:#d33;opacity:.12}
rect.culprit{stroke:#000;stroke-width:1.5}
text.tick{font-size:10px;fill:#555}text.label{font-size:11px;font-family:monospace}text.culprit{fill:#b00020;font-weight:600}
line.axis{stroke:#888}line.grid{stroke:#e4e4e4}
.legend span{display:inline-block;margin-right:1em}.swatch{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:middle}
pre{background:#f4f4f4;padding:.5em;overflow:auto;max-height:24em}
`;

export function renderReport(
  history: History,
  nemesisEvents: readonly NemesisEvent[],
  results: Results<CheckerResult>,
  options: ReportOptions = {},
): string {
  const ops = pairHistory(history);
  const runEndMs = Math.max(
    1,
    history.reduce((m, op) => Math.max(m, op.time), 0),
    nemesisEvents.reduce((m, e) => Math.max(m, e.time), 0),
  );
  const windows = faultWindows(nemesisEvents, runEndMs);
  const found = findCounterexample(results);
  const highlighted = new Set(found?.counterexample.ops.map((o) => o.op.invokeIndex) ?? []);
  const maxDrawn = options.maxDrawnOps ?? DEFAULT_MAX_DRAWN_OPS;
  // Bounded so a long run still gives a page a browser can open.
  const drawn = ops.filter((op, k) => k < maxDrawn || highlighted.has(op.invokeIndex));
  const notDrawn =
    drawn.length < ops.length
      ? `<p>Only the first ${maxDrawn} ops are drawn (of ${ops.length}).</p>`
      : "";
  const title = options.title ?? "jepsen-lite report";
  const jump = jumpLink(results, found !== undefined);
  const faultList = windows
    .map(
      (w) =>
        `<li>${escapeHtml(w.fault)} ${formatSeconds(w.start)}–${formatSeconds(w.end)} ${escapeHtml(show(w.detail, 200))}</li>`,
    )
    .join("");
  return [
    `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style></head><body>`,
    `<h1>${escapeHtml(title)}</h1>`,
    `<p>Verdict: ${verdictBadge(results.valid)}${jump}</p>`,
    `<p>ok ${results.counts.ok} · fail ${results.counts.fail} · info ${results.counts.info} · ` +
      `${ops.length} ops · ${formatSeconds(runEndMs)}</p>`,
    `<h2 id="checkers">Checkers</h2>${checkerTable(results, options)}`,
    `<h2 id="timeline">Timeline</h2>${legend()}`,
    notDrawn,
    renderTimeline(drawn, windows, runEndMs, highlighted),
    `<h2 id="faults">Faults</h2>${faultList === "" ? "<p>none</p>" : `<ul>${faultList}</ul>`}`,
    `<h2 id="latency">Latency</h2>${renderLatency(drawn, windows, runEndMs)}`,
    `<h2 id="throughput">Throughput (completions per second)</h2>${renderThroughput(ops, windows, runEndMs)}`,
    found !== undefined ? renderCounterexample(found.checker, found.counterexample) : "",
    "</body></html>\n",
  ].join("\n");
}

/** To the counterexample if there is one, else to the first failing checker's row. */
function jumpLink(results: Results<CheckerResult>, hasCounterexample: boolean): string {
  if (hasCounterexample) return ` <a href="#counterexample">Jump to the first error</a>`;
  const failing = Object.entries(results.checkers).find(([, r]) => r.valid === false);
  if (failing === undefined) return "";
  return ` <a href="#${checkerAnchor(failing[0])}">Jump to the first failing checker</a>`;
}

/** An id attribute value from a checker name: only characters safe in ids and URLs. */
function checkerAnchor(name: string): string {
  return `checker-${name.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

function verdictBadge(valid: Validity): string {
  const text = valid === "unknown" ? "unknown" : valid ? "valid" : "INVALID";
  return `<span class="verdict valid-${String(valid)}">${text}</span>`;
}

function legend(): string {
  const items = Object.entries(OUTCOME_COLORS).map(
    ([outcome, color]) =>
      `<span><i class="swatch" style="background:${color}"></i>${outcome}</span>`,
  );
  return `<p class="legend">${items.join("")}<span><i class="swatch" style="background:#d33;opacity:.3"></i>fault window</span></p>`;
}

function checkerTable(results: Results<CheckerResult>, options: ReportOptions): string {
  const max = options.maxDetailChars ?? DEFAULT_MAX_DETAIL_CHARS;
  const rows = Object.entries(results.checkers).map(([name, result]) => {
    let json = JSON.stringify(result, nonFiniteAsString, 2);
    if (json.length > max) json = `${json.slice(0, max)}\n… (${json.length - max} more characters)`;
    return (
      `<tr id="${checkerAnchor(name)}"><td>${escapeHtml(name)}</td><td>${verdictBadge(result.valid)}</td>` +
      `<td>${escapeHtml(summarize(result))}<details><summary>details</summary><pre>${escapeHtml(json)}</pre></details></td></tr>`
    );
  });
  return `<table><thead><tr><th>checker</th><th>valid</th><th>summary</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** One line from the fields checkers commonly carry. */
function summarize(result: CheckerResult): string {
  const r = result as unknown as Record<string, unknown>;
  const parts: string[] = [];
  const ce = r.counterexample as { description?: unknown } | undefined;
  if (typeof ce?.description === "string") parts.push(ce.description);
  for (const field of ["violations", "observations"]) {
    const list = r[field];
    if (Array.isArray(list) && list.length > 0) {
      const first = list[0] as { description?: unknown };
      const text = typeof first?.description === "string" ? first.description : show(first, 160);
      parts.push(`${list.length} ${field}; first: ${text}`);
    }
  }
  if (typeof r.reason === "string" && parts.length === 0) parts.push(r.reason);
  return parts.join(" — ");
}
