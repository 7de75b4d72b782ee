// Runs one workload at one concurrency: C workers issue operations back to
// back over the given channels for a warm-up and then a measured window.
// Bounded by time: every worker stops when the window closes.
import type { Client } from "@grpc/grpc-js";
import { TRACE_ENABLED, trace } from "../src/util/latency-trace.js";
import { LatencyRecorder, type LatencySummary } from "./latency.js";
import type { Operation } from "./workloads.js";

export interface RunSpec {
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly channels: readonly Client[];
  readonly operation: Operation;
  /** Optional: server PIDs whose CPU use is sampled over the window. */
  readonly serverPids: readonly number[];
}

export interface RunResult extends LatencySummary {
  readonly concurrency: number;
  readonly opsPerSecond: number;
  readonly operations: number;
  readonly errors: number;
  readonly firstError: string | null;
  readonly serverCpuPercent: number | null;
  readonly loadgenCpuPercent: number;
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

async function cpuTicks(pids: readonly number[]): Promise<number | null> {
  if (pids.length === 0) return null;
  const { readFile } = await import("node:fs/promises");
  let total = 0;
  for (const pid of pids) {
    try {
      const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]?.split(" ") ?? [];
      total += Number(fields[11]) + Number(fields[12]);
    } catch {
      return null;
    }
  }
  return total;
}

const CLOCK_TICKS_PER_SECOND = 100;

export interface CpuUse {
  readonly serverCpuPercent: number | null;
  readonly loadgenCpuPercent: number;
}

/** Samples server and load-generator CPU from the end of the warm-up; `finish` reports the window's use. */
export function sampleCpu(
  pids: readonly number[],
  warmupMs: number,
): { finish(seconds: number): Promise<CpuUse> } {
  let cpuStart: number | null = null;
  let loadgenStart = process.cpuUsage();
  const sampler = setTimeout(async () => {
    cpuStart = await cpuTicks(pids);
    loadgenStart = process.cpuUsage();
  }, warmupMs);
  return {
    async finish(seconds) {
      clearTimeout(sampler);
      const cpuEnd = await cpuTicks(pids);
      const loadgen = process.cpuUsage(loadgenStart);
      return {
        serverCpuPercent:
          cpuStart !== null && cpuEnd !== null
            ? ((cpuEnd - cpuStart) / CLOCK_TICKS_PER_SECOND / seconds) * 100
            : null,
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
  const cpu = sampleCpu(spec.serverPids, spec.warmupMs);
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
  const cpuUse = await cpu.finish(seconds);
  await spec.operation.close?.();
  return {
    concurrency: spec.concurrency,
    opsPerSecond: operations / seconds,
    operations,
    errors,
    firstError,
    ...cpuUse,
    ...recorder.summary(),
  };
}
