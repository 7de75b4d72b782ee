// `npm run bench -- footprint`: load N keys into a fresh cluster, let every
// member apply them, then sample each member's resident memory and the size
// of its data directory, for cairn and/or etcd started with their defaults.
import { randomBytes } from "node:crypto";
import type { Client } from "@grpc/grpc-js";
import { sleep } from "../cluster/process-cluster.js";
import { KV_PUT } from "../src/client/methods.js";
import { callUnary, openChannel } from "../src/client/rpc.js";
import {
  type FootprintResult,
  footprintTable,
  type MemberFootprint,
  putsPerSecond,
} from "./footprint-report.js";
import { awaitAllApplied, findLeader } from "./leader.js";
import { directorySize, rssBytes } from "./resource-usage.js";
import { writeResults } from "./results-files.js";
import {
  numberFlag,
  parseFlags,
  resultsFileName,
  type Subcommand,
  targetKinds,
} from "./subcommand.js";
import { type RunningTarget, startTarget, type TargetKind, type TargetMember } from "./targets.js";
import { keyFor } from "./workloads.js";

const PUT_DEADLINE_MS = 10_000;
/** Tries per key before the load is given up: a put may time out while the machine is busy. */
const PUT_ATTEMPTS_MAX = 3;
const APPLY_TIMEOUT_MS = 120_000;

/**
 * Storage defaults that shape the figures, as cluster/process-cluster.ts and
 * cluster/etcd-cluster.ts start the members (neither passes storage flags).
 */
export const STORAGE_SETTINGS: Readonly<Record<TargetKind, string>> = {
  cairn:
    "defaults: --snapshot-count 10000 (Raft log truncated behind each snapshot), LevelDB with Snappy",
  etcd: "defaults (3.4): --snapshot-count 100000, no auto-compaction, WAL in 64 MB preallocated segments plus a pre-created next one",
};

interface FootprintOptions {
  readonly kinds: readonly TargetKind[];
  readonly keys: number;
  readonly size: number;
  readonly valueBytes: number;
  readonly inFlight: number;
  readonly settleMs: number;
}

function parse(argv: readonly string[]): FootprintOptions {
  const flags = parseFlags(argv, {
    target: "cairn",
    keys: "100000",
    size: "3",
    "value-bytes": "256",
    "in-flight": "64",
    "settle-s": "2",
  });
  return {
    kinds: targetKinds(flags.target),
    // Keys are bench/000000..bench/999999, as every other workload's.
    keys: numberFlag("keys", flags.keys, 1, 1_000_000),
    size: numberFlag("size", flags.size, 1, 7),
    valueBytes: numberFlag("value-bytes", flags["value-bytes"], 0, 1_000_000),
    inFlight: numberFlag("in-flight", flags["in-flight"], 1, 4096),
    settleMs: numberFlag("settle-s", flags["settle-s"], 0, 600, false) * 1000,
  };
}

/**
 * Puts keys 0..keys-1 through `channel`, `inFlight` at a time; returns the
 * milliseconds taken. Values are random bytes: a repeated byte would compress
 * to almost nothing in cairn's LevelDB (Snappy) but not in etcd's bbolt,
 * which would flatter cairn's disk figure by some 4×.
 */
async function load(channel: Client, options: FootprintOptions): Promise<number> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < options.keys; index = next++) {
      for (let attempt = 1; ; attempt++) {
        try {
          const value = randomBytes(options.valueBytes);
          await callUnary(channel, KV_PUT, { key: keyFor(index), value }, PUT_DEADLINE_MS);
          break;
        } catch (error) {
          if (attempt >= PUT_ATTEMPTS_MAX)
            throw new Error(
              `put of key ${index} failed ${attempt} times: ${(error as Error).message}`,
            );
        }
      }
    }
  };
  const startedMs = performance.now();
  await Promise.all(Array.from({ length: Math.min(options.inFlight, options.keys) }, worker));
  return performance.now() - startedMs;
}

async function sample(members: readonly TargetMember[]): Promise<MemberFootprint[]> {
  return Promise.all(
    members.map(async (member) => {
      const pid = member.pid();
      const size = await directorySize(member.dataDir);
      return {
        endpoint: member.endpoint,
        rssBytes: pid === null ? null : await rssBytes(pid),
        diskBytes: size.bytes,
        diskAllocatedBytes: size.allocatedBytes,
        files: size.files,
      };
    }),
  );
}

async function measure(
  kind: TargetKind,
  options: FootprintOptions,
  track: (target: RunningTarget | null) => void,
): Promise<FootprintResult> {
  process.stderr.write(`${kind} footprint: fresh ${options.size}-member cluster…\n`);
  const target = await startTarget(kind, options.size, null);
  track(target);
  const channels = target.endpoints.map(openChannel);
  try {
    const leader = await findLeader(channels);
    const before = await sample(target.members);
    process.stderr.write(
      `${kind} footprint: loading ${options.keys} keys, ${options.inFlight} in flight…\n`,
    );
    const loadMs = await load(channels[leader.index] as Client, options);
    await awaitAllApplied(channels, APPLY_TIMEOUT_MS);
    await sleep(options.settleMs);
    const after = await sample(target.members);
    const leaderEndpoint = target.endpoints[leader.index] ?? "";
    const result = {
      keys: options.keys,
      valueBytes: options.valueBytes,
      loadMs,
      leaderEndpoint,
      before,
      after,
    };
    process.stderr.write(
      `${kind} footprint: loaded in ${(loadMs / 1000).toFixed(1)} s (${putsPerSecond(result).toFixed(0)} puts/s) ` +
        `through member ${leader.index + 1}, the leader\n`,
    );
    return result;
  } finally {
    for (const channel of channels) channel.close();
    track(null);
    await target.stop();
  }
}

async function run(
  argv: readonly string[],
  track: (target: RunningTarget | null) => void,
): Promise<void> {
  const options = parse(argv);
  const results: Partial<Record<TargetKind, FootprintResult>> = {};
  for (const kind of options.kinds) results[kind] = await measure(kind, options, track);
  process.stdout.write(
    `\nfootprint: ${options.keys} keys of ${options.valueBytes} random bytes put through the leader of a fresh ` +
      `${options.size}-member cluster, ${options.inFlight} in flight; sampled once every member applied them ` +
      `and ${options.settleMs / 1000} s more. Both run with their default flags (no compaction, defrag or snapshot tuning).\n` +
      `${footprintTable(options.kinds, results)}\n\n` +
      options.kinds.map((k) => `${k} storage settings: ${STORAGE_SETTINGS[k]}`).join("\n") +
      "\n",
  );
  const file = writeResults(resultsFileName("footprint", options.kinds), {
    mode: "footprint",
    at: new Date().toISOString(),
    options,
    storageSettings: Object.fromEntries(options.kinds.map((k) => [k, STORAGE_SETTINGS[k]])),
    results,
  });
  process.stderr.write(`results: ${file}\n`);
}

export const footprintCommand: Subcommand = {
  name: "footprint",
  usage:
    "[--target cairn|etcd|both] [--keys 100000] [--size 3] [--value-bytes 256] [--in-flight 64] [--settle-s 2]",
  run,
};
