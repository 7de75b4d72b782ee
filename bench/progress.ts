// The bench's progress line for one run: on a terminal a bar redrawn in place
// (target, workload, clients, elapsed/total s), cleared when the run ends; on
// a pipe or file one line per run, so logs stay readable.

/** Redraws per second: smooth enough to watch, rare enough to cost nothing. */
const REDRAW_INTERVAL_MS = 250;
/** Cap on the line's width, so a wide terminal does not get a 300-column bar. */
const WIDTH_MAX = 100;
/** Floor on it: a pty that reports 0 columns (script(1), some CI runners) still gets a bar. */
const WIDTH_MIN = 40;
const COLUMNS_DEFAULT = 80;
const BAR_WIDTH_MIN = 10;

/**
 * One frame, exactly `width` characters: "label [████░░░░] 1.2/4.0 s".
 * The bar is full once `totalMs` has passed (a run's last operations drain
 * after the window closes); the seconds still count on. A label too long for
 * the width is cut to leave the bar its minimum.
 */
export function renderProgress(
  label: string,
  elapsedMs: number,
  totalMs: number,
  width: number,
): string {
  width = Math.max(0, Math.floor(width));
  const elapsed = Math.max(0, elapsedMs);
  const seconds = `${(elapsed / 1000).toFixed(1)}/${(totalMs / 1000).toFixed(1)} s`;
  const fixed = seconds.length + 4; // " [", "] "
  const shownLabel = label.slice(0, Math.max(0, width - fixed - BAR_WIDTH_MIN));
  const barWidth = Math.max(0, width - fixed - shownLabel.length);
  const fraction = totalMs > 0 ? Math.min(1, elapsed / totalMs) : 1;
  const filled = Math.round(fraction * barWidth);
  const bar = "█".repeat(filled) + "░".repeat(barWidth - filled);
  return `${shownLabel} [${bar}] ${seconds}`.slice(0, width).padEnd(width);
}

/** The part of a stream the progress line uses: process.stderr, or a fake in tests. */
export interface ProgressStream {
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
  write(text: string): unknown;
}

export interface Progress {
  /** Clears the bar and stops redrawing; safe to call twice. */
  stop(): void;
}

/** A run's phases: the bar covers both, the plain line names the measured window. */
export interface RunLength {
  readonly warmupMs: number;
  readonly durationMs: number;
}

/**
 * One column short of the terminal's (writing into the last column wraps on
 * some terminals), within WIDTH_MIN..WIDTH_MAX; 80 columns when unknown.
 */
export function lineWidth(columns: number | undefined): number {
  const known = columns !== undefined && columns > 0 ? columns : COLUMNS_DEFAULT;
  return Math.min(WIDTH_MAX, Math.max(WIDTH_MIN, known - 1));
}

/**
 * Shows `label` for a run on `stream`. Not a terminal: writes "label for S s…"
 * once. A terminal: redraws the bar with \r until stop().
 */
export function startProgress(
  label: string,
  run: RunLength,
  stream: ProgressStream = process.stderr,
  now: () => number = () => performance.now(),
): Progress {
  if (stream.isTTY !== true) {
    stream.write(`${label} for ${run.durationMs / 1000} s…\n`);
    return { stop() {} };
  }
  const totalMs = run.warmupMs + run.durationMs;
  const width = lineWidth(stream.columns);
  const startedMs = now();
  const draw = (): void => {
    stream.write(`\r${renderProgress(label, now() - startedMs, totalMs, width)}`);
  };
  draw();
  const timer = setInterval(draw, REDRAW_INTERVAL_MS);
  // The bar never keeps the process alive on its own, even if a caller forgets stop().
  timer.unref();
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      stream.write(`\r${" ".repeat(width)}\r`);
    },
  };
}
