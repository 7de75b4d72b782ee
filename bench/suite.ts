// `npm run bench:all`: every workload of the table, cairn and etcd
// side by side, one after the other, then one combined table in
// bench/results/SUMMARY.md (the README's table is copied from it). Each step
// is its own `bench` process, so a step that fails is reported and the rest
// still run; the suite exits non-zero if any step failed.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type Summary, summarize } from "./report.js";
import { RESULTS_DIR, writeResultFile } from "./results-files.js";
import type { RunResult } from "./runner.js";
import { type SuiteEntry, scoreLine, suiteTable } from "./suite-table.js";
import { targetMissingReason } from "./targets.js";

const MAIN = resolve(import.meta.dirname, "main.js");

interface Step {
  readonly workload: string;
  readonly concurrency: string;
  /** Uses cairn.v1, which etcd does not have. */
  readonly cairnOnly?: boolean;
}

/** The rows: throughput workloads at 1/16/64/256 clients, locks at 1 and 8, watch fan-out to 100. */
const STEPS: readonly Step[] = [
  { workload: "put", concurrency: "1,16,64,256" },
  { workload: "get", concurrency: "1,16,64,256" },
  { workload: "get-serializable", concurrency: "1,16,64,256" },
  { workload: "txn", concurrency: "1,16,64,256" },
  { workload: "mixed", concurrency: "1,16,64,256" },
  { workload: "lock", concurrency: "1,8" },
  { workload: "watch", concurrency: "100" },
  { workload: "platform", concurrency: "1,16,64", cairnOnly: true },
];

/** Modes with their own report (kill the leader; load 100 000 keys): their printed tables go into the summary as they are. */
const REPORT_STEPS: readonly string[] = ["failover", "footprint"];

function fail(message: string): never {
  process.stderr.write(
    `bench:all: ${message}\nusage: npm run bench:all -- [--repetitions 2] [--duration-s 5] ` +
      `[--warmup-s 1] [--size 3] [--only ${[...STEPS.map((s) => s.workload), ...REPORT_STEPS].join(",")}]\n`,
  );
  process.exit(2);
}

function options() {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      repetitions: { type: "string", default: "2" },
      "duration-s": { type: "string", default: "5" },
      "warmup-s": { type: "string", default: "1" },
      size: { type: "string", default: "3" },
      only: { type: "string" },
    },
  });
  const only = values.only?.split(",") ?? null;
  const known = [...STEPS.map((s) => s.workload), ...REPORT_STEPS];
  const unknown = only?.filter((w) => !known.includes(w)) ?? [];
  if (unknown.length > 0) fail(`--only: unknown workload ${unknown.join(", ")}`);
  for (const flag of ["repetitions", "duration-s", "warmup-s", "size"] as const) {
    if (!(Number(values[flag]) >= 0)) fail(`--${flag} must be a number, got ${values[flag]}`);
  }
  return {
    ...values,
    steps: STEPS.filter((s) => only === null || only.includes(s.workload)),
    reports: REPORT_STEPS.filter((mode) => only === null || only.includes(mode)),
  };
}

interface BothJson {
  readonly at: string;
  readonly summaries: { readonly cairn: Summary[]; readonly etcd: Summary[] };
}
interface SingleJson {
  readonly at: string;
  readonly results: RunResult[];
}

/** Reads what the step's `bench` run wrote, refusing a file older than the step (a stale result). */
function readEntry(step: Step, withEtcd: boolean, startedAt: number): SuiteEntry {
  const file = join(
    RESULTS_DIR,
    withEtcd ? `${step.workload}-both-latest.json` : `${step.workload}-latest.json`,
  );
  const json: unknown = JSON.parse(readFileSync(file, "utf8"));
  const at = Date.parse((json as { at: string }).at);
  if (!(at >= startedAt)) throw new Error(`${file} predates this step (written ${String(at)})`);
  if (withEtcd) {
    const both = json as BothJson;
    return { workload: step.workload, cairn: both.summaries.cairn, etcd: both.summaries.etcd };
  }
  return { workload: step.workload, cairn: summarize([(json as SingleJson).results]), etcd: null };
}

function main(): void {
  const o = options();
  const etcdMissing = targetMissingReason("etcd");
  if (etcdMissing !== null) {
    process.stderr.write(`bench:all: etcd not measured (${etcdMissing}); cairn only\n`);
  }
  const entries: SuiteEntry[] = [];
  const failed: string[] = [];
  for (const step of o.steps) {
    const withEtcd = step.cairnOnly !== true && etcdMissing === null;
    const args = [
      MAIN,
      step.workload,
      "--target",
      withEtcd ? "both" : "cairn",
      "--repetitions",
      o.repetitions,
      "--duration-s",
      o["duration-s"],
      "--warmup-s",
      o["warmup-s"],
      "--size",
      o.size,
      "--concurrency",
      step.concurrency,
    ];
    process.stderr.write(`\n== bench ${args.slice(1).join(" ")}\n`);
    const startedAt = Date.now();
    const run = spawnSync(process.execPath, args, { stdio: "inherit" });
    if (run.status !== 0) {
      failed.push(`${step.workload} (exit ${run.status ?? run.signal})`);
      continue;
    }
    try {
      entries.push(readEntry(step, withEtcd, startedAt));
    } catch (error) {
      failed.push(`${step.workload} (${(error as Error).message})`);
    }
  }
  const sections: string[] = [];
  for (const mode of o.reports) {
    const args = [
      MAIN,
      mode,
      "--target",
      etcdMissing === null ? "both" : "cairn",
      "--size",
      o.size,
    ];
    process.stderr.write(`\n== bench ${args.slice(1).join(" ")}\n`);
    const run = spawnSync(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    const printed = run.stdout?.toString() ?? "";
    process.stdout.write(printed);
    if (run.status !== 0) failed.push(`${mode} (exit ${run.status ?? run.signal})`);
    else sections.push(`## ${mode}\n\n${printed.trim()}`);
  }
  const summary = [
    `# cairn vs etcd 3.4: the whole suite`,
    "",
    `Measured ${new Date().toISOString()} on ${cpus().length} cores, ` +
      `${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; ${o.size} members each, ` +
      `one channel to the leader, 256-byte values, ${o["duration-s"]} s per run after ` +
      `${o["warmup-s"]} s warm-up, median of ${o.repetitions} repetitions alternating cairn and etcd.` +
      (etcdMissing === null ? "" : ` etcd was not measured: ${etcdMissing}.`),
    "",
    suiteTable(entries),
    "",
    scoreLine(entries),
    ...sections.flatMap((section) => ["", section]),
    ...(failed.length > 0 ? ["", `Steps that failed: ${failed.join("; ")}`] : []),
    "",
  ].join("\n");
  writeResultFile("SUMMARY.md", summary);
  process.stdout.write(`\n${summary}`);
  if (failed.length > 0) process.exitCode = 1;
}

main();
