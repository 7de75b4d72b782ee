// Runs one workload at one concurrency: C workers issue operations back to
// back over the given channels for a warm-up and then a measured window.
// Bounded by time: every worker stops when the window closes.
import type { Client } from "@grpc/grpc-js";
import { TRACE_ENABLED, trace } from "../src/util/latency-trace.js";
import { LatencyRecorder, type LatencySummary } from "./latency.js";
import { CLOCK_TICKS_PER_SECOND, cpuTicks, rssBytes } from "./resource-usage.js";
import type { Operation } from "./workloads.js";

export interface RunSpec {
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly channels: readonly Client[];
  readonly operation: Operation;
  /** Server PIDs, in member order, whose CPU and memory are sampled; empty when not ours. */
  readonly serverPids: readonly number[];
}

export interface RunResult extends LatencySummary, ResourceUse {
  readonly concurrency: number;
  readonly opsPerSecond: number;
  readonly operations: number;
  readonly errors: number;
  readonly firstError: string | null;
}

/** xorshift32: a cheap seeded PRNG so key choices do not depend on Math.random state. */
function randomSource(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** One process's CPU use over `seconds`, in percent of one core; null if either sample is missing. */
function cpuPercent(
  startTicks: number | null,
  endTicks: number | null,
  seconds: number,
): number | null {
  if (startTicks === null || endTicks === null) return null;
  return ((endTicks - startTicks) / CLOCK_TICKS_PER_SECOND / seconds) * 100;
}

export interface ResourceUse {
  /** All server processes together, in percent of one core; null when any could not be read. */
  readonly serverCpuPercent: number | null;
  /** Each server process's CPU %, in `serverPids` order (member order); null where unreadable. */
  readonly serverCpuPercentPerProcess: readonly (number | null)[];
  /** Each server process's resident memory (VmRSS) at the end of the run, in `serverPids` order. */
  readonly serverRssBytesPerProcess: readonly (number | null)[];
  readonly loadgenCpuPercent: number;
}

/**
 * Per-process CPU % from tick samples at the start and end of the window, and
 * their sum. The sum is null if any process is missing, so a member that
 * died mid-run does not pass for an idle one.
 */
export function serverCpuUse(
  startTicks: readonly (number | null)[] | null,
  endTicks: readonly (number | null)[],
  seconds: number,
): Pick<ResourceUse, "serverCpuPercent" | "serverCpuPercentPerProcess"> {
  const perProcess = endTicks.map((end, i) => cpuPercent(startTicks?.[i] ?? null, end, seconds));
  const all = perProcess.filter((p): p is number => p !== null);
  return {
    serverCpuPercent:
      all.length === 0 || all.length < perProcess.length ? null : all.reduce((a, b) => a + b, 0),
    serverCpuPercentPerProcess: perProcess,
  };
}

/**
 * Samples server and load-generator CPU from the end of the warm-up; `finish`
 * reports the window's use and each server's resident memory at that moment.
 */
export function sampleResources(
  pids: readonly number[],
  warmupMs: number,
): { finish(seconds: number): Promise<ResourceUse> } {
  let startTicks: (number | null)[] | null = null;
  let loadgenStart = process.cpuUsage();
  const sampler = setTimeout(async () => {
    startTicks = await Promise.all(pids.map(cpuTicks));
    loadgenStart = process.cpuUsage();
  }, warmupMs);
  return {
    async finish(seconds) {
      clearTimeout(sampler);
      const endTicks = await Promise.all(pids.map(cpuTicks));
      const loadgen = process.cpuUsage(loadgenStart);
      return {
        ...serverCpuUse(startTicks, endTicks, seconds),
        serverRssBytesPerProcess: await Promise.all(pids.map(rssBytes)),
        loadgenCpuPercent: ((loadgen.user + loadgen.system) / 1e6 / seconds) * 100,
      };
    },
  };
}

export async function runWorkload(spec: RunSpec): Promise<RunResult> {
  const recorder = new LatencyRecorder();
  const startedMs = performance.now();
  const measureFromMs = startedMs + spec.warmupMs;
  const endMs = measureFromMs + spec.durationMs;
  let operations = 0;
  let errors = 0;
  let firstError: string | null = null;
  const resources = sampleResources(spec.serverPids, spec.warmupMs);
  const worker = async (index: number): Promise<void> => {
    const channel = spec.channels[index % spec.channels.length] as Client;
    const random = randomSource(index * 7919 + 17);
    while (performance.now() < endMs) {
      const begin = performance.now();
      try {
        if (TRACE_ENABLED) trace("op-start");
        await spec.operation(channel, random, index);
        if (TRACE_ENABLED) trace("op-end");
        if (begin >= measureFromMs) {
          recorder.recordMs(performance.now() - begin);
          operations++;
        }
      } catch (error) {
        errors++;
        firstError ??= (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, (_, i) => worker(i)));
  const seconds = spec.durationMs / 1000;
  const resourceUse = await resources.finish(seconds);
  await spec.operation.close?.();
  return {
    concurrency: spec.concurrency,
    opsPerSecond: operations / seconds,
    operations,
    errors,
    firstError,
    ...resourceUse,
    ...recorder.summary(),
  };
}
