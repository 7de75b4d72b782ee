// Off-by-default timestamps of a request's stages through the loop, for
// accounting where a put's time goes (bench/PROFILE.md). Enabled only when
// CAIRN_TRACE_FILE names a path prefix; each process then appends
// "<wall-clock ms> <event> <a> <b>" lines to <prefix>.<pid>.
import { appendFileSync } from "node:fs";

const prefix = process.env.CAIRN_TRACE_FILE;
/** Read once: a disabled trace costs one boolean test per call site. */
export const TRACE_ENABLED = prefix !== undefined && prefix !== "";
/** Lines buffered between flushes; past it the oldest are dropped, never memory without bound. */
const TRACE_LINES_MAX = 1_000_000;
const FLUSH_INTERVAL_MS = 500;

let lines: string[] = [];

function flush(): void {
  if (lines.length === 0 || !TRACE_ENABLED) return;
  const text = `${lines.join("\n")}\n`;
  lines = [];
  appendFileSync(`${prefix}.${process.pid}`, text);
}

if (TRACE_ENABLED) {
  setInterval(flush, FLUSH_INTERVAL_MS).unref();
  process.on("exit", flush);
}

/** Records `event` now; call sites test TRACE_ENABLED first so the off path allocates nothing. */
export function trace(event: string, a = 0, b = 0): void {
  if (lines.length >= TRACE_LINES_MAX) lines.shift();
  lines.push(`${(performance.timeOrigin + performance.now()).toFixed(3)} ${event} ${a} ${b}`);
}
