// `npm run bench -- <workload> [options]`: measures cairn, real etcd, or both
// side by side over the etcd v3 API. By default it starts a fresh local
// cluster in a temp dir and stops it after; --endpoints points it at a running
// cluster instead. With --target both, each repetition starts a fresh cairn
// and a fresh etcd of the same size, alternating which goes first, so both
// see the same machine conditions. Prints a table and what each member left
// on disk, and writes JSON and a throughput chart (SVG) to bench/results/.

import { parseArgs } from "node:util";
import type { Client } from "@grpc/grpc-js";
import { MAINTENANCE_STATUS } from "../src/client/methods.js";
import { callUnary, openChannel } from "../src/client/rpc.js";
import { failoverCommand } from "./failover.js";
import { footprintCommand } from "./footprint.js";
import { startProgress } from "./progress.js";
import {
  comparisonTable,
  diskLine,
  errorNotes,
  type MemberDisk,
  type Summary,
  singleTable,
  summarize,
} from "./report.js";
import { directorySize } from "./resource-usage.js";
import { writeResultFile, writeResults } from "./results-files.js";
import { type RunResult, runWorkload } from "./runner.js";
import { type Subcommand, UsageError } from "./subcommand.js";
import { throughputSvg } from "./svg.js";
import {
  type RunningTarget,
  startTarget,
  type TargetKind,
  type TargetMember,
  targetMissingReason,
} from "./targets.js";
import { WORKLOADS, type Workload } from "./workloads.js";

/** Modes with their own flags and report, run instead of a workload. */
const SUBCOMMANDS: ReadonlyMap<string, Subcommand> = new Map(
  [failoverCommand, footprintCommand].map((c) => [c.name, c]),
);

function fail(message: string, only?: Subcommand): never {
  const workloads =
    `npm run bench -- <${[...WORKLOADS.keys()].join("|")}> [--target cairn|etcd|both] ` +
    "[--repetitions 1] [--concurrency 1,16,64,256] [--duration-s 10] [--warmup-s 1] [--size 3] " +
    "[--channels leader|all] [--endpoints host:port,...]";
  const modes = [...SUBCOMMANDS.values()].map((c) => `npm run bench -- ${c.name} ${c.usage}`);
  const usage =
    only === undefined ? [workloads, ...modes] : [`npm run bench -- ${only.name} ${only.usage}`];
  process.stderr.write(`bench: ${message}\nusage: ${usage.join("\n       ")}\n`);
  process.exit(2);
}

type TargetChoice = TargetKind | "both";

interface Options {
  readonly workload: Workload;
  readonly target: TargetChoice;
  readonly repetitions: number;
  readonly concurrency: readonly number[];
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly size: number;
  readonly channels: "leader" | "all";
  readonly endpoints: readonly string[] | null;
  readonly keySpace: number;
  readonly valueBytes: number;
}

function parse(argv: string[]): Options {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      target: { type: "string", default: "cairn" },
      repetitions: { type: "string", default: "1" },
      concurrency: { type: "string", default: "1,16,64,256" },
      "duration-s": { type: "string", default: "10" },
      "warmup-s": { type: "string", default: "1" },
      size: { type: "string", default: "3" },
      channels: { type: "string", default: "leader" },
      endpoints: { type: "string" },
      "key-space": { type: "string", default: "10000" },
      "value-bytes": { type: "string", default: "256" },
    },
  });
  const workload = WORKLOADS.get(positionals[0] ?? "");
  if (workload === undefined) fail(`unknown workload "${positionals[0] ?? ""}"`);
  const concurrency = values.concurrency.split(",").map(Number);
  if (concurrency.some((c) => !Number.isInteger(c) || c < 1 || c > 4096))
    fail("--concurrency: integers 1..4096");
  if (values.channels !== "leader" && values.channels !== "all")
    fail("--channels must be leader or all");
  const target = values.target;
  if (target !== "cairn" && target !== "etcd" && target !== "both")
    fail(`--target must be cairn, etcd or both, got ${target}`);
  if (workload.cairnOnly === true && target !== "cairn")
    fail(
      `${workload.name} uses cairn's platform API (cairn.v1), which etcd does not have; use --target cairn`,
    );
  if (target === "both" && values.endpoints !== undefined)
    fail("--endpoints names one running cluster; use it with --target cairn or --target etcd");
  const number = (flag: string, raw: string, min: number, max: number): number => {
    const n = Number(raw);
    if (!(n >= min && n <= max)) fail(`--${flag} must be in ${min}..${max}, got ${raw}`);
    return n;
  };
  return {
    workload,
    target,
    repetitions: number("repetitions", values.repetitions, 1, 20),
    concurrency,
    durationMs: number("duration-s", values["duration-s"], 1, 600) * 1000,
    warmupMs: number("warmup-s", values["warmup-s"], 0, 60) * 1000,
    size: number("size", values.size, 1, 5),
    channels: values.channels,
    endpoints: values.endpoints?.split(",") ?? null,
    keySpace: number("key-space", values["key-space"], 1, 10_000_000),
    valueBytes: number("value-bytes", values["value-bytes"], 0, 1_000_000),
  };
}

/** Finds the leader's endpoint with Maintenance.Status, which cairn and etcd both answer. */
async function leaderChannel(channels: readonly Client[]): Promise<Client> {
  for (let attempt = 0; attempt < 100; attempt++) {
    for (const channel of channels) {
      const status = await callUnary(channel, MAINTENANCE_STATUS, {}, 1000).catch(() => null);
      if (status !== null && status.leader !== 0 && status.leader === status.header?.memberId)
        return channel;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("no leader found within 10 s");
}

/** The target being measured, so Ctrl-C (or SIGTERM) stops its processes before exiting. */
let running: RunningTarget | null = null;

function stopOnSignals(): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      // A new line first on a terminal: the progress bar may be mid-line.
      const newLine = process.stderr.isTTY ? "\n" : "";
      process.stderr.write(`${newLine}bench: ${signal}, stopping the cluster under test…\n`);
      const target = running;
      running = null;
      void (target?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
    });
  }
}

/** Each member's data dir size now; a member whose dir cannot be read is left out, with a warning. */
async function measureDisk(members: readonly TargetMember[]): Promise<MemberDisk[]> {
  const sized = await Promise.all(
    members.map(async (m, i): Promise<MemberDisk[]> => {
      const member = `n${i + 1}`;
      try {
        return [{ member, dataDir: m.dataDir, ...(await directorySize(m.dataDir)) }];
      } catch (error) {
        process.stderr.write(
          `bench: cannot size ${member}'s data dir: ${(error as Error).message}\n`,
        );
        return [];
      }
    }),
  );
  return sized.flat();
}

interface Repetition {
  readonly results: RunResult[];
  /** What each member left on disk after the runs; empty for --endpoints. */
  readonly disk: MemberDisk[];
}

/** One repetition against one target: start it, prepare, run every concurrency level, weigh its data dirs, stop it. */
async function measure(options: Options, kind: TargetKind): Promise<Repetition> {
  const target = await startTarget(kind, options.size, options.endpoints);
  running = target;
  const all = target.endpoints.map(openChannel);
  try {
    const channels = options.channels === "leader" ? [await leaderChannel(all)] : all;
    const context = {
      keySpace: options.keySpace,
      valueBytes: options.valueBytes,
      timeoutMs: 10_000,
    };
    await options.workload.prepare?.(channels[0] as Client, context);
    const results: RunResult[] = [];
    for (const concurrency of options.concurrency) {
      const label = `${kind} ${options.workload.name}: ${concurrency} clients`;
      const progress = startProgress(label, options);
      try {
        const spec = { ...options, concurrency, channels, serverPids: target.serverPids };
        const result =
          options.workload.measure !== undefined
            ? await options.workload.measure(spec, context)
            : await runWorkload({ ...spec, operation: options.workload.operation(context) });
        results.push(result);
      } finally {
        progress.stop();
      }
    }
    return { results, disk: await measureDisk(target.members) };
  } finally {
    for (const channel of all) channel.close();
    running = null;
    await target.stop();
  }
}

function describeSetup(options: Options, label: string): string {
  const repetitions =
    options.repetitions > 1 ? `, median of ${options.repetitions} repetitions` : "";
  return `${label}, ${options.size} members, channels=${options.channels}, ${options.valueBytes}-byte values${repetitions}`;
}

async function runSubcommand(subcommand: Subcommand, argv: readonly string[]): Promise<void> {
  stopOnSignals();
  try {
    await subcommand.run(argv, (target) => {
      running = target;
    });
  } catch (error) {
    if (error instanceof UsageError) fail(error.message, subcommand);
    throw error;
  }
}

async function main(): Promise<void> {
  const [mode, ...rest] = process.argv.slice(2);
  const subcommand = SUBCOMMANDS.get(mode ?? "");
  if (subcommand !== undefined) return runSubcommand(subcommand, rest);
  const options = parse(process.argv.slice(2));
  stopOnSignals();
  const kinds: TargetKind[] = options.target === "both" ? ["cairn", "etcd"] : [options.target];
  for (const kind of kinds) {
    const missing = options.endpoints === null ? targetMissingReason(kind) : null;
    if (missing !== null) fail(`--target ${options.target} needs real etcd: ${missing}`);
  }
  const runs: Record<TargetKind, RunResult[][]> = { cairn: [], etcd: [] };
  const disk: Record<TargetKind, MemberDisk[][]> = { cairn: [], etcd: [] };
  for (let repetition = 0; repetition < options.repetitions; repetition++) {
    // Alternate which target goes first so drift in machine load hits both alike.
    const order = repetition % 2 === 0 ? kinds : [...kinds].reverse();
    for (const kind of order) {
      const measured = await measure(options, kind);
      runs[kind].push(measured.results);
      disk[kind].push(measured.disk);
    }
  }
  report(options, kinds, runs, disk);
}

/** The file name without extension: <workload>-both-latest, <workload>-latest, <workload>-etcd-latest. */
function resultsStem(workload: string, target: TargetChoice): string {
  if (target === "both") return `${workload}-both-latest`;
  return target === "cairn" ? `${workload}-latest` : `${workload}-etcd-latest`;
}

/** Prints the table, the disk lines and the errors; writes the JSON and the chart side by side. */
function report(
  options: Options,
  kinds: readonly TargetKind[],
  runs: Record<TargetKind, RunResult[][]>,
  disk: Record<TargetKind, MemberDisk[][]>,
): void {
  const summaries: Record<TargetKind, Summary[]> = {
    cairn: summarize(runs.cairn),
    etcd: summarize(runs.etcd),
  };
  const name = options.workload.name;
  const base = {
    workload: name,
    at: new Date().toISOString(),
    size: options.size,
    channels: options.channels,
    repetitions: options.repetitions,
  };
  const stem = resultsStem(name, options.target);
  let setup: string;
  let file: string;
  if (options.target === "both") {
    setup = describeSetup(options, "cairn vs etcd 3.4");
    process.stdout.write(`\n${setup}\n${comparisonTable(name, summaries.cairn, summaries.etcd)}\n`);
    file = writeResults(`${stem}.json`, { ...base, runs, summaries, disk });
  } else {
    const kind = options.target;
    setup = describeSetup(options, kind);
    process.stdout.write(`\n${setup}\n${singleTable(name, summaries[kind])}\n`);
    file = writeResults(`${stem}.json`, {
      ...base,
      target: kind,
      results: runs[kind].flat(),
      summaries: summaries[kind],
      disk: disk[kind],
    });
  }
  const diskLines = kinds.flatMap((kind) => diskLine(kind, disk[kind]) ?? []);
  if (diskLines.length > 0) process.stdout.write(`\n${diskLines.join("\n")}\n`);
  const notes = kinds.flatMap((kind) => errorNotes(kind, summaries[kind]));
  if (notes.length > 0) process.stdout.write(`\n${notes.join("\n")}\n`);
  const series = kinds.map((kind) => ({ label: kind, points: summaries[kind] }));
  const chart = writeResultFile(
    `${stem}.svg`,
    throughputSvg({ workload: name, subtitle: setup }, series),
  );
  process.stderr.write(`results: ${file}\nchart: ${chart}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).message}\n`);
  process.exit(1);
});
