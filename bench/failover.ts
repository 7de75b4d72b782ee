// `npm run bench -- failover`: SIGKILL the leader under a steady write stream
// and time until writes succeed again, per trial, for cairn and/or etcd.
// Every trial starts a fresh cluster with each system's default election
// settings, so no trial inherits a restarted member's catch-up.
import type { Client } from "@grpc/grpc-js";
import { sleep } from "../cluster/process-cluster.js";
import { KV_PUT, MAINTENANCE_STATUS } from "../src/client/methods.js";
import { callUnary, openChannel } from "../src/client/rpc.js";
import {
  type FailoverTrial,
  failedAfterKill,
  failoverTable,
  summarizeTrials,
  unavailabilityMs,
  type WriteRecord,
} from "./failover-report.js";
import { findLeader } from "./leader.js";
import { writeResults } from "./results-files.js";
import {
  numberFlag,
  parseFlags,
  resultsFileName,
  type Subcommand,
  targetKinds,
} from "./subcommand.js";
import { type RunningTarget, startTarget, type TargetKind } from "./targets.js";
import { keyFor } from "./workloads.js";

/** A put not answered by then counts as failed (a follower may have forwarded it to the dead leader). */
const PUT_DEADLINE_MS = 2_000;
/** Puts outstanding at once; the stream skips a tick rather than exceed it. */
const IN_FLIGHT_MAX = 512;
/** Keys the stream cycles through, as the put workload's bench/000123 keys. */
const STREAM_KEY_SPACE = 10_000;
const STATUS_POLL_MS = 20;
const STATUS_DEADLINE_MS = 500;

/**
 * What both clusters run with, as cluster/process-cluster.ts and
 * cluster/etcd-cluster.ts start them: neither passes election flags, so each
 * uses its defaults.
 */
export const ELECTION_SETTINGS: Readonly<Record<TargetKind, string>> = {
  cairn:
    "defaults: --heartbeat-interval 100 ms, --election-timeout 1000 ms (randomized in [1×, 2×)), pre-vote on, check-quorum on",
  etcd: "defaults (3.4): --heartbeat-interval 100 ms, --election-timeout 1000 ms (randomized in [1×, 2×)), pre-vote off, check-quorum on",
};

interface FailoverOptions {
  readonly kinds: readonly TargetKind[];
  readonly trials: number;
  readonly size: number;
  readonly intervalMs: number;
  readonly valueBytes: number;
  readonly warmupMs: number;
  readonly recoveryTimeoutMs: number;
}

function parse(argv: readonly string[]): FailoverOptions {
  const flags = parseFlags(argv, {
    target: "cairn",
    trials: "5",
    size: "3",
    "interval-ms": "10",
    "value-bytes": "256",
    "warmup-s": "2",
    "recovery-timeout-s": "30",
  });
  return {
    kinds: targetKinds(flags.target),
    trials: numberFlag("trials", flags.trials, 1, 50),
    // Below 3 members a lost leader takes the quorum with it: there is no failover to time.
    size: numberFlag("size", flags.size, 3, 7),
    intervalMs: numberFlag("interval-ms", flags["interval-ms"], 1, 1000),
    valueBytes: numberFlag("value-bytes", flags["value-bytes"], 0, 1_000_000),
    warmupMs: numberFlag("warmup-s", flags["warmup-s"], 0, 60, false) * 1000,
    recoveryTimeoutMs:
      numberFlag("recovery-timeout-s", flags["recovery-timeout-s"], 1, 600, false) * 1000,
  };
}

/**
 * An open-loop stream: one put every `intervalMs`, round-robin over every
 * member, whatever happened to the previous ones. A failed put is not
 * retried in place; the next tick's put goes to the next member, so the
 * survivors keep being asked and the time resolution stays `intervalMs`
 * instead of a put deadline, as it would be with closed-loop clients stuck
 * on a dead leader.
 */
class WriteStream {
  readonly records: WriteRecord[] = [];
  skipped = 0;
  private inFlight = new Set<Promise<void>>();
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly channels: readonly Client[],
    private readonly intervalMs: number,
    valueBytes: number,
  ) {
    const value = Buffer.alloc(valueBytes, 0x61);
    this.loop = this.run(value);
  }

  private async run(value: Buffer): Promise<void> {
    for (let sequence = 0; !this.stopped; sequence++) {
      if (this.inFlight.size >= IN_FLIGHT_MAX) {
        this.skipped++;
      } else {
        const channel = this.channels[sequence % this.channels.length] as Client;
        const key = keyFor(sequence % STREAM_KEY_SPACE);
        const sentAtMs = performance.now();
        const put = callUnary(channel, KV_PUT, { key, value }, PUT_DEADLINE_MS).then(
          () => true,
          () => false,
        );
        const done = put.then((ok) => {
          this.records.push({ sentAtMs, doneAtMs: performance.now(), ok });
          this.inFlight.delete(done);
        });
        this.inFlight.add(done);
      }
      await sleep(this.intervalMs);
    }
  }

  /** Stops sending and waits for the outstanding puts (each bounded by PUT_DEADLINE_MS). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await Promise.all(this.inFlight);
  }
}

/** Polls the survivors until one names a leader other than `oldId`; returns when (performance.now), or null at the deadline. */
async function awaitNewLeader(
  survivors: readonly Client[],
  oldId: number,
  deadlineMs: number,
): Promise<number | null> {
  while (performance.now() < deadlineMs) {
    const seen = await Promise.all(
      survivors.map((channel) =>
        callUnary(channel, MAINTENANCE_STATUS, {}, STATUS_DEADLINE_MS).then(
          (s) => {
            return s.leader !== 0 && s.leader !== oldId ? performance.now() : null;
          },
          () => null,
        ),
      ),
    );
    const times = seen.filter((t): t is number => t !== null);
    if (times.length > 0) return Math.min(...times);
    await sleep(STATUS_POLL_MS);
  }
  return null;
}

/** Waits until a put sent after the kill has been acknowledged, or the deadline. */
async function awaitWrites(
  stream: WriteStream,
  killAtMs: number,
  deadlineMs: number,
): Promise<void> {
  while (performance.now() < deadlineMs && unavailabilityMs(stream.records, killAtMs) === null)
    await sleep(STATUS_POLL_MS);
}

async function killLeaderOnce(
  target: RunningTarget,
  channels: readonly Client[],
  options: FailoverOptions,
  trial: number,
): Promise<FailoverTrial> {
  const stream = new WriteStream(channels, options.intervalMs, options.valueBytes);
  let stopped = false;
  try {
    await sleep(options.warmupMs);
    const leader = await findLeader(channels);
    const member = target.members[leader.index];
    const pid = member?.pid() ?? null;
    if (member === undefined || pid === null)
      throw new Error(`leader ${leader.index} has no running process`);
    const killAtMs = performance.now();
    process.kill(pid, "SIGKILL");
    const deadlineMs = killAtMs + options.recoveryTimeoutMs;
    const survivors = channels.filter((_, i) => i !== leader.index);
    const [newLeaderAtMs] = await Promise.all([
      awaitNewLeader(survivors, leader.id, deadlineMs),
      awaitWrites(stream, killAtMs, deadlineMs),
    ]);
    await stream.stop();
    stopped = true;
    const records = stream.records;
    if (!records.some((r) => r.ok && r.doneAtMs < killAtMs))
      throw new Error("no put was acknowledged before the kill: the stream never worked");
    return {
      trial,
      killedEndpoint: member.endpoint,
      killedPid: pid,
      unavailabilityMs: unavailabilityMs(records, killAtMs),
      newLeaderMs: newLeaderAtMs === null ? null : newLeaderAtMs - killAtMs,
      writesSent: records.length,
      writesAckedBeforeKill: records.filter((r) => r.ok && r.doneAtMs < killAtMs).length,
      writesFailedAfterKill: failedAfterKill(records, killAtMs),
    };
  } finally {
    if (!stopped) await stream.stop();
  }
}

async function runTrial(
  kind: TargetKind,
  options: FailoverOptions,
  trial: number,
  track: (target: RunningTarget | null) => void,
): Promise<FailoverTrial> {
  process.stderr.write(`${kind} failover: trial ${trial}, fresh ${options.size}-member cluster…\n`);
  const target = await startTarget(kind, options.size, null);
  track(target);
  const channels = target.endpoints.map(openChannel);
  try {
    const result = await killLeaderOnce(target, channels, options, trial);
    const shown = (ms: number | null): string => (ms === null ? "timeout" : `${ms.toFixed(0)} ms`);
    process.stderr.write(
      `${kind} failover: trial ${trial}: writes back after ${shown(result.unavailabilityMs)}, ` +
        `new leader after ${shown(result.newLeaderMs)}\n`,
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
  const trials: Record<TargetKind, FailoverTrial[]> = { cairn: [], etcd: [] };
  for (let trial = 1; trial <= options.trials; trial++) {
    // Alternate which target goes first so drift in machine load hits both alike.
    const order = trial % 2 === 1 ? options.kinds : [...options.kinds].reverse();
    for (const kind of order) trials[kind].push(await runTrial(kind, options, trial, track));
  }
  const summaries = Object.fromEntries(options.kinds.map((k) => [k, summarizeTrials(trials[k])]));
  const settings = Object.fromEntries(options.kinds.map((k) => [k, ELECTION_SETTINGS[k]]));
  process.stdout.write(
    `\nfailover: SIGKILL the leader of a fresh ${options.size}-member cluster under one ${options.valueBytes}-byte put ` +
      `every ${options.intervalMs} ms (round-robin over all members), ${options.trials} trials; median [min–max]\n` +
      `${failoverTable(options.kinds, summaries)}\n\n` +
      options.kinds.map((k) => `${k} election settings: ${ELECTION_SETTINGS[k]}`).join("\n") +
      "\n",
  );
  const json = {
    mode: "failover",
    at: new Date().toISOString(),
    definition:
      "unavailabilityMs = kill → first acknowledged put that was sent at or after the kill; " +
      "newLeaderMs = kill → first Maintenance.Status reply from a survivor naming another leader",
    options: { ...options, putDeadlineMs: PUT_DEADLINE_MS },
    electionSettings: settings,
    summaries,
    trials: Object.fromEntries(options.kinds.map((k) => [k, trials[k]])),
  };
  const file = writeResults(resultsFileName("failover", options.kinds), json);
  process.stderr.write(`results: ${file}\n`);
}

export const failoverCommand: Subcommand = {
  name: "failover",
  usage:
    "[--target cairn|etcd|both] [--trials 5] [--size 3] [--interval-ms 10] [--value-bytes 256] " +
    "[--warmup-s 2] [--recovery-timeout-s 30]",
  run,
};
