// The linearizability counterexample, drawn: the tail of the longest partial
// linearization (in linearization order, with the register after each op)
// and the op that could not follow it, on a shared time axis, then the same
// as a table whose rows are the anchors the timeline links to.
//
// Public API:
//   function findCounterexample(results: Results): { checker: string; counterexample: Counterexample } | undefined
//   function renderCounterexample(checker: string, ce: Counterexample): string   (an HTML section)

import type { CheckerResult, Results } from "../checker/combine.js";
import type { Counterexample, CounterexampleOp } from "../checker/linearizable.js";
import { escapeHtml, type Frame, fmt, OUTCOME_COLORS, show, timeAxis, xOf } from "./svg.js";
import { describeOp } from "./timeline.js";

const ROW_HEIGHT_PX = 22;
const WIDTH_PX = 1100;

/** The first checker result (by name) carrying a linearizability counterexample. */
export function findCounterexample(
  results: Results<CheckerResult>,
): { checker: string; counterexample: Counterexample } | undefined {
  for (const name of Object.keys(results.checkers).sort()) {
    const result: unknown = results.checkers[name];
    if (typeof result !== "object" || result === null || !("counterexample" in result)) continue;
    const ce = (result as { counterexample: unknown }).counterexample;
    if (isCounterexample(ce)) return { checker: name, counterexample: ce };
  }
  return undefined;
}

function isCounterexample(value: unknown): value is Counterexample {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Partial<Counterexample>;
  return typeof v.key === "string" && typeof v.description === "string" && Array.isArray(v.ops);
}

/** "#7 p3 read → 1 ✗ …" or "#4 p1 write 2 ⇒ 2": what the op did and what it left. */
function compactLabel({ op, stateAfter }: CounterexampleOp): string {
  const input = op.input !== undefined ? ` ${show(op.input, 20)}` : "";
  const output = op.outcome === "ok" && op.output !== undefined ? ` → ${show(op.output, 20)}` : "";
  const outcome = op.outcome === "ok" ? "" : ` [${op.outcome}]`;
  const after =
    stateAfter !== undefined ? ` ⇒ ${truncate(stateAfter, 20)}` : " ✗ cannot be linearized";
  return `#${op.invokeIndex} p${op.process} ${op.f}${input}${output}${outcome}${after}`;
}

function truncate(text: string, maxChars: number): string {
  return text.length > maxChars ? `${text.slice(0, maxChars - 1)}…` : text;
}

export function renderCounterexample(checker: string, ce: Counterexample): string {
  const ops = ce.ops;
  const t0 = Math.min(...ops.map((o) => o.op.callTime));
  const ends = ops.map((o) => o.op.completeTime ?? o.op.callTime);
  const t1 = Math.max(t0 + 1, ...ends);
  const pad = (t1 - t0) * 0.05;
  const frame: Frame = {
    width: WIDTH_PX,
    height: 10 + ops.length * ROW_HEIGHT_PX + 24,
    left: 10,
    right: 330,
    top: 10,
    bottom: 24,
    t0: t0 - pad,
    t1: t1 + pad,
  };
  const rows = ops.map((entry, k) => {
    const { op } = entry;
    const y = frame.top + k * ROW_HEIGHT_PX;
    const x0 = xOf(frame, op.callTime);
    // An op with no return may take effect at any later time: draw it to the edge.
    const x1 = xOf(frame, Number.isFinite(op.returnTime) ? op.returnTime : frame.t1);
    const culprit = entry.role === "unlinearizable";
    const label = compactLabel(entry);
    return (
      `<a href="#op-${op.invokeIndex}"><rect class="op ${op.outcome}${culprit ? " culprit" : ""}" x="${fmt(x0)}" y="${y + 3}" ` +
      `width="${fmt(Math.max(x1 - x0, 2))}" height="${ROW_HEIGHT_PX - 8}" fill="${culprit ? "#b00020" : OUTCOME_COLORS[op.outcome]}">` +
      `<title>${escapeHtml(`${describeOp(op)} ${label}`)}</title></rect></a>` +
      `<text class="label${culprit ? " culprit" : ""}" x="${frame.width - frame.right + 8}" y="${y + 15}">${escapeHtml(truncate(label, 50))}</text>`
    );
  });
  const svg =
    `<svg class="counterexample" xmlns="http://www.w3.org/2000/svg" width="${frame.width}" height="${frame.height}" ` +
    `viewBox="0 0 ${frame.width} ${frame.height}">${rows.join("")}${timeAxis(frame)}</svg>`;
  const tableRows = ops.map(({ op, role, stateAfter }) => {
    const cells = [
      `#${op.invokeIndex}`,
      `p${op.process}`,
      op.f,
      show(op.input, 80),
      op.outcome === "ok" ? show(op.output, 80) : op.outcome,
      `${op.callTime.toFixed(1)}`,
      Number.isFinite(op.returnTime) ? op.returnTime.toFixed(1) : "∞",
      stateAfter ?? "—",
      role,
    ];
    return `<tr id="op-${op.invokeIndex}" class="${role}">${cells.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`;
  });
  const omitted =
    ce.omittedOps > 0 ? `<p>${ce.omittedOps} earlier linearized op(s) are not shown.</p>` : "";
  return (
    `<section id="counterexample"><h2>Counterexample (${escapeHtml(checker)}, key ${escapeHtml(show(ce.key))})</h2>` +
    `<p class="description">${escapeHtml(ce.description)}</p>${omitted}${svg}` +
    `<table><thead><tr><th>record</th><th>process</th><th>f</th><th>input</th><th>output</th>` +
    `<th>call ms</th><th>return ms</th><th>register after</th><th>role</th></tr></thead>` +
    `<tbody>${tableRows.join("")}</tbody></table></section>`
  );
}
