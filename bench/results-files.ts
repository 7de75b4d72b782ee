// Where every benchmark writes its results: the source tree's bench/results,
// seen from dist/bench/ where `npm run bench` runs.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const RESULTS_DIR = resolve(import.meta.dirname, "..", "..", "bench", "results");

/** Writes `text` to bench/results/`name`; returns the path. */
export function writeResultFile(name: string, text: string): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, name);
  writeFileSync(file, text);
  return file;
}

/** Writes `json` to bench/results/`name`, indented; returns the path. */
export function writeResults(name: string, json: unknown): string {
  return writeResultFile(name, `${JSON.stringify(json, null, 2)}\n`);
}
