// The report's only I/O: writes results.json and report.html into a run's
// store directory. Everything it writes is rendered by the pure modules.
//
// Public API:
//   interface WrittenReport { resultsPath: string; reportPath: string }
//   function writeReport(dir: string, history: History, nemesisEvents: readonly NemesisEvent[],
//                        results: Results, options?: ReportOptions): Promise<WrittenReport>

import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type CheckerResult, encodeResults, type Results } from "../checker/combine.js";
import type { History } from "../history/op.js";
import type { NemesisEvent } from "./faults.js";
import { type ReportOptions, renderReport } from "./render.js";

export interface WrittenReport {
  readonly resultsPath: string;
  readonly reportPath: string;
}

export async function writeReport(
  dir: string,
  history: History,
  nemesisEvents: readonly NemesisEvent[],
  results: Results<CheckerResult>,
  options: ReportOptions = {},
): Promise<WrittenReport> {
  await mkdir(dir, { recursive: true });
  const resultsPath = join(dir, "results.json");
  const reportPath = join(dir, "report.html");
  await writeFile(resultsPath, encodeResults(results));
  await writeFile(reportPath, renderReport(history, nemesisEvents, results, options));
  return { resultsPath, reportPath };
}
