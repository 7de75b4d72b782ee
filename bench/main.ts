// `npm run bench -- <workload> [options]`: measures cairn over the etcd v3 API.
// By default it starts a fresh local cluster in a temp dir and stops it after;
// --endpoints points it at a running cluster instead. Prints a table and
// writes JSON to bench/results/.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Client } from "@grpc/grpc-js";
import { ProcessCluster } from "../cluster/process-cluster.js";
import { MAINTENANCE_STATUS } from "../src/client/methods.js";
import { callUnary, openChannel } from "../src/client/rpc.js";
import { type RunResult, runWorkload } from "./runner.js";
import { WORKLOADS } from "./workloads.js";

const RESULTS_DIR = resolve(import.meta.dirname, "..", "..", "bench", "results");

function fail(message: string): never {
  process.stderr.write(
    `bench: ${message}\nusage: npm run bench -- <${[...WORKLOADS.keys()].join("|")}> [--concurrency 1,16,64,256] ` +
      "[--duration-s 10] [--warmup-s 1] [--size 3] [--channels leader|all] [--endpoints host:port,...]\n",
  );
  process.exit(2);
}

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
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
  const number = (flag: string, raw: string, min: number, max: number): number => {
    const n = Number(raw);
    if (!(n >= min && n <= max)) fail(`--${flag} must be in ${min}..${max}, got ${raw}`);
    return n;
  };
  return {
    workload,
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

function table(name: string, results: readonly RunResult[]): string {
  const head =
    "| workload | clients | ops/s | p50 ms | p99 ms | p99.9 ms | max ms | errors | server CPU % | loadgen CPU % |";
  const rule = "|---|---|---|---|---|---|---|---|---|---|";
  const rows = results.map(
    (r) =>
      `| ${name} | ${r.concurrency} | ${r.opsPerSecond.toFixed(0)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ` +
      `${r.p999Ms.toFixed(2)} | ${r.maxMs.toFixed(1)} | ${r.errors} | ${r.serverCpuPercent?.toFixed(0) ?? "-"} | ` +
      `${r.loadgenCpuPercent.toFixed(0)} |`,
  );
  return [head, rule, ...rows].join("\n");
}

async function main(): Promise<void> {
  const options = parse(process.argv.slice(2));
  const cluster =
    options.endpoints === null ? await ProcessCluster.start({ size: options.size }) : null;
  try {
    const endpoints = options.endpoints ?? cluster?.members.map((m) => m.client) ?? [];
    if (cluster !== null) await cluster.waitForLeader(15_000);
    const all = endpoints.map(openChannel);
    const channels = options.channels === "leader" ? [await leaderChannel(all)] : all;
    const context = {
      keySpace: options.keySpace,
      valueBytes: options.valueBytes,
      timeoutMs: 10_000,
    };
    await options.workload.prepare?.(channels[0] as Client, context);
    const serverPids = cluster?.members.map((m) => m.process?.pid ?? 0).filter((p) => p > 0) ?? [];
    const results: RunResult[] = [];
    for (const concurrency of options.concurrency) {
      process.stderr.write(
        `${options.workload.name}: ${concurrency} clients for ${options.durationMs / 1000} s…\n`,
      );
      const operation = options.workload.operation(context);
      results.push(await runWorkload({ ...options, concurrency, channels, operation, serverPids }));
    }
    for (const channel of all) channel.close();
    const report = table(options.workload.name, results);
    process.stdout.write(
      `\ncairn, ${options.size} members, channels=${options.channels}, ${options.valueBytes}-byte values\n${report}\n`,
    );
    mkdirSync(RESULTS_DIR, { recursive: true });
    const json = {
      workload: options.workload.name,
      at: new Date().toISOString(),
      size: options.size,
      channels: options.channels,
      results,
    };
    writeFileSync(
      join(RESULTS_DIR, `${options.workload.name}-latest.json`),
      `${JSON.stringify(json, null, 2)}\n`,
    );
  } finally {
    await cluster?.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).message}\n`);
  process.exit(1);
});
