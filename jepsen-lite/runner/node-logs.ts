// Fails a run whose member logs show a crash of the code rather than of the
// process: a fatal line, an assertion, a Go panic (etcd), an uncaught error.
// SIGKILLs leave no such line; cairn logs error-level lines for I/O trouble,
// which are counted but not judged.
import { existsSync, readFileSync } from "node:fs";
import type { DetailedResult } from "./results.js";

const FATAL_PATTERNS: readonly RegExp[] = [
  /"level":60\b/,
  /AssertionError/,
  /"level":"(panic|fatal|dpanic)"/,
  /^panic: /,
  /Uncaught|unhandledRejection/,
];
const ERROR_PATTERN = /"level":(50\b|"error")/;
/** Bounds the lines quoted in results.json. */
const QUOTED_LINES_MAX = 10;
const QUOTED_LINE_CHARS_MAX = 500;

export function checkNodeLogs(logs: ReadonlyMap<string, string>): DetailedResult {
  const fatal: string[] = [];
  const errorLines: Record<string, number> = {};
  for (const [name, path] of logs) {
    if (!existsSync(path)) continue;
    for (const line of readFileSync(path, "utf8").split("\n")) {
      if (ERROR_PATTERN.test(line)) errorLines[name] = (errorLines[name] ?? 0) + 1;
      if (fatal.length < QUOTED_LINES_MAX && FATAL_PATTERNS.some((p) => p.test(line))) {
        fatal.push(`${name}: ${line.slice(0, QUOTED_LINE_CHARS_MAX)}`);
      }
    }
  }
  return {
    valid: fatal.length === 0,
    checker: "no fatal, panic or assertion line in member logs",
    fatal,
    errorLines,
  };
}
