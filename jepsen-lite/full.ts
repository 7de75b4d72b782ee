// `npm run jepsen:full`: the long suite (suite.ts) run one jepsen-lite run at
// a time, each in its own process (`cli.js`, bounded by a hard deadline), with
// a line per run, a summary table with the planted bugs' detection rates,
// and full-<time>/summary.{json,md} in the store. Exit 0 only when every run
// ended as it must: acceptance, etcd and control runs valid, planted bugs caught.
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { etcdBinary, etcdMissingReason } from "../cluster/etcd-cluster.js";
import { RootNet } from "./net/root.js";
import { type SuiteGroup, type SuiteRun, suiteRuns } from "./suite.js";

const HERE = import.meta.dirname;
const ROOT = resolve(HERE, ...(dirname(HERE).endsWith("dist") ? ["..", ".."] : [".."]));
const CLI = join(HERE, "cli.js");
/** Beyond --time: start, heal, final reads and checking; then the run is killed. */
const RUN_OVERHEAD_S_MAX = 300;
const GROUPS: readonly SuiteGroup[] = ["acceptance", "etcd", "planted", "control"];

const USAGE = `usage: npm run jepsen:full -- [options]
  --runs N           acceptance runs, all nemeses and workloads, 3 and 5 nodes alternating (default 20)
  --time S           seconds of load per acceptance run (default 120)
  --planted-runs N   runs per planted bug, and as many controls (default 1; 10 for detection rates)
  --etcd-runs N      calibration runs against a real etcd 3.4 (default 3)
  --only LIST        some of ${GROUPS.join(",")} (default all)
  --bugs LIST        only these planted bugs and their controls (default all)
  --seed N           first seed; each run takes the next (default 1000)
  --store DIR        parent of the runs' directories (default jepsen-lite/store)`;

interface Outcome {
  readonly run: SuiteRun;
  readonly exitCode: number | null;
  readonly result: "valid" | "invalid" | "unknown" | "error";
  readonly passed: boolean;
  readonly seconds: number;
  readonly dir: string | null;
  readonly log: string;
  /** The checkers that said false (or unknown): why the run was not valid. */
  readonly notValid: readonly string[];
}

/** Names of the checkers in results.json that did not say true. */
function checkersNotValid(dir: string | null): string[] {
  if (dir === null) return [];
  try {
    const results = JSON.parse(readFileSync(join(dir, "results.json"), "utf8")) as {
      checkers?: Record<string, { valid?: unknown }>;
    };
    return Object.entries(results.checkers ?? {})
      .filter(([, c]) => c.valid !== true)
      .map(([name, c]) => (c.valid === false ? name : `${name}?`));
  } catch {
    return [];
  }
}

function resultOf(code: number | null): Outcome["result"] {
  switch (code) {
    case 0:
      return "valid";
    case 1:
      return "invalid";
    case 2:
      return "unknown";
    default:
      return "error";
  }
}

function timeOf(args: readonly string[]): number {
  const at = args.indexOf("--time");
  return at < 0 ? 60 : Number(args[at + 1]);
}

async function runOne(run: SuiteRun, store: string, logPath: string): Promise<Outcome> {
  const startMs = Date.now();
  const log = createWriteStream(logPath);
  const child = spawn(process.execPath, [CLI, ...run.args, "--store", store], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => {
    log.write(chunk);
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => log.write(chunk));
  const deadline = setTimeout(
    () => {
      log.write(`\nfull: killed after ${timeOf(run.args) + RUN_OVERHEAD_S_MAX} s\n`);
      child.kill("SIGKILL");
    },
    (timeOf(run.args) + RUN_OVERHEAD_S_MAX) * 1000,
  );
  const exitCode = await new Promise<number | null>((done) => child.on("close", done));
  clearTimeout(deadline);
  await new Promise<void>((done) => log.end(() => done()));
  const result = resultOf(exitCode);
  const dir = /results in (\S+)\)/.exec(stdout)?.[1] ?? null;
  return {
    run,
    exitCode,
    result,
    passed: run.expect === result,
    seconds: Math.round((Date.now() - startMs) / 1000),
    dir,
    log: logPath,
    notValid: checkersNotValid(dir),
  };
}

function summarize(outcomes: readonly Outcome[]): string {
  const lines = ["| group | runs | as expected | results |", "| --- | --- | --- | --- |"];
  for (const group of GROUPS) {
    const mine = outcomes.filter((o) => o.run.group === group);
    if (mine.length === 0) continue;
    const counts = new Map<string, number>();
    for (const o of mine) counts.set(o.result, (counts.get(o.result) ?? 0) + 1);
    const results = [...counts].map(([r, n]) => `${n} ${r}`).join(", ");
    lines.push(
      `| ${group} | ${mine.length} | ${mine.filter((o) => o.passed).length} | ${results} |`,
    );
  }
  const bugs = new Map<string, { caught: number; runs: number; by: Set<string> }>();
  for (const o of outcomes.filter((x) => x.run.group === "planted")) {
    const bug = o.run.args[o.run.args.indexOf("--unsafe") + 1] ?? "?";
    const rate = bugs.get(bug) ?? { caught: 0, runs: 0, by: new Set<string>() };
    rate.runs++;
    if (o.result === "invalid") rate.caught++;
    for (const name of o.notValid) if (!name.endsWith("?")) rate.by.add(name);
    bugs.set(bug, rate);
  }
  if (bugs.size > 0) {
    lines.push("", "| planted bug | caught | by |", "| --- | --- | --- |");
    for (const [bug, rate] of bugs) {
      lines.push(`| ${bug} | ${rate.caught} of ${rate.runs} | ${[...rate.by].join(", ")} |`);
    }
  }
  const off = outcomes.filter((o) => !o.passed);
  if (off.length > 0) {
    lines.push("", "Not as expected:");
    for (const o of off) {
      lines.push(`- ${o.run.name}: ${o.result}, expected ${o.run.expect} (${o.dir ?? o.log})`);
    }
  }
  return lines.join("\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "20" },
      time: { type: "string", default: "120" },
      "planted-runs": { type: "string", default: "1" },
      "etcd-runs": { type: "string", default: "3" },
      only: { type: "string" },
      bugs: { type: "string" },
      seed: { type: "string", default: "1000" },
      store: { type: "string", default: resolve(ROOT, "jepsen-lite", "store") },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const count = (name: string, raw: string, min: number, max: number): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new Error(`--${name} must be a whole number in ${min}..${max}, got ${raw}`);
    }
    return n;
  };
  const only = values.only?.split(",").filter((g) => g !== "");
  for (const g of only ?? []) {
    if (!(GROUPS as readonly string[]).includes(g)) throw new Error(`unknown group ${g} in --only`);
  }
  let groups = (only as SuiteGroup[] | undefined) ?? [...GROUPS];
  if (groups.includes("etcd") && etcdBinary() === null) {
    console.log(`full: skipping the etcd runs: ${etcdMissingReason()}`);
    groups = groups.filter((g) => g !== "etcd");
  }
  const root = await RootNet.available();
  const runs = suiteRuns({
    acceptanceRuns: count("runs", values.runs, 0, 1000),
    acceptanceTimeSec: count("time", values.time, 5, 3600),
    plantedRuns: count("planted-runs", values["planted-runs"], 0, 100),
    etcdRuns: count("etcd-runs", values["etcd-runs"], 0, 100),
    rootNet: root.ok,
    seed: count("seed", values.seed, 0, 2 ** 31),
    only: groups,
    ...(values.bugs === undefined ? {} : { bugs: values.bugs.split(",").filter((b) => b !== "") }),
  });
  if (!root.ok && groups.includes("etcd")) {
    console.log(`full: etcd runs get process faults only (no --net root: ${root.reason})`);
  }
  const dir = join(values.store, `full-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  mkdirSync(dir, { recursive: true });
  console.log(`full: ${runs.length} runs; logs and summary in ${dir}`);
  const outcomes: Outcome[] = [];
  for (const [i, run] of runs.entries()) {
    const outcome = await runOne(
      run,
      values.store,
      join(dir, `${String(i + 1).padStart(3, "0")}.log`),
    );
    outcomes.push(outcome);
    console.log(
      `[${i + 1}/${runs.length}] ${run.name}: ${outcome.result}${outcome.passed ? "" : ` (expected ${run.expect})`}${outcome.notValid.length > 0 ? ` [${outcome.notValid.join(" ")}]` : ""}, ${outcome.seconds} s${outcome.dir === null ? "" : `, ${outcome.dir}`}`,
    );
  }
  const table = summarize(outcomes);
  writeFileSync(join(dir, "summary.md"), `${table}\n`);
  writeFileSync(join(dir, "summary.json"), `${JSON.stringify(outcomes, null, 2)}\n`);
  console.log(`\n${table}`);
  const passed = outcomes.every((o) => o.passed);
  console.log(`\nfull: ${passed ? "every run as expected" : "some runs NOT as expected"}`);
  return passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`jepsen:full: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(3);
  },
);
