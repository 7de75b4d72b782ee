// The `watch` workload: one writer puts back to back under a prefix while N
// watchers (N = the concurrency) follow that prefix over gRPC Watch streams,
// spread over the channels. Latency is from the put's ack (its response) to
// each watcher's receipt of the event; an event that beats its own ack counts
// as 0. Throughput is events received per second over all watchers.
import type { Client } from "@grpc/grpc-js";
import { KV_PUT } from "../src/client/methods.js";
import { callUnary } from "../src/client/rpc.js";
import type { etcdserverpb, mvccpb } from "../src/gen/etcd.js";
import { LatencyRecorder } from "./latency.js";
import { openWatchStream, type WatchStream } from "./methods.js";
import { type RunResult, sampleResources } from "./runner.js";
import type { MeasureSpec, Workload, WorkloadContext } from "./workloads.js";

const PREFIX = Buffer.from("bench-watch/");
/** The end of PREFIX's range: its last byte plus one. */
const PREFIX_END = Buffer.from("bench-watch0");
const WATCH_CREATE_TIMEOUT_MS = 10_000;
/** Ack times kept for matching events; older revisions are dropped first. */
const ACK_TIMES_MAX = 100_000;
const WATCH_KEYS = 100;

interface Tally {
  events: number;
  errors: number;
  firstError: string | null;
}

class AckTimes {
  private readonly byRevision = new Map<number, number>();

  record(revision: number, atMs: number): void {
    this.byRevision.set(revision, atMs);
    if (this.byRevision.size > ACK_TIMES_MAX) {
      // Maps iterate in insertion order, which is revision order here.
      const oldest = this.byRevision.keys().next();
      if (oldest.done !== true) this.byRevision.delete(oldest.value);
    }
  }

  get(revision: number): number | undefined {
    return this.byRevision.get(revision);
  }
}

/** Opens one watcher and resolves once the server confirmed it (created=true). */
function openWatcher(
  channel: Client,
  onEvents: (events: readonly mvccpb.Event.$Properties[]) => void,
  onError: (error: Error) => void,
): Promise<WatchStream> {
  return new Promise((resolve, reject) => {
    const stream = openWatchStream(channel);
    const timer = setTimeout(() => {
      stream.cancel();
      reject(new Error(`watch not created within ${WATCH_CREATE_TIMEOUT_MS} ms`));
    }, WATCH_CREATE_TIMEOUT_MS);
    stream.on("data", (response: etcdserverpb.WatchResponse) => {
      if (response.created) {
        clearTimeout(timer);
        resolve(stream);
      }
      if (response.events.length > 0) onEvents(response.events);
    });
    stream.on("error", (error: Error & { code?: number }) => {
      clearTimeout(timer);
      reject(error);
      if (error.code !== 1) onError(error); // 1 = CANCELLED: our own cancel at the end.
    });
    stream.write({ createRequest: { key: PREFIX, rangeEnd: PREFIX_END } });
  });
}

async function writeUntil(
  channel: Client,
  context: WorkloadContext,
  endMs: number,
  acks: AckTimes,
  tally: Tally,
): Promise<void> {
  const value = Buffer.alloc(context.valueBytes, 0x77);
  let next = 0;
  while (performance.now() < endMs) {
    const key = Buffer.concat([PREFIX, Buffer.from(String(next++ % WATCH_KEYS))]);
    try {
      const response = await callUnary(channel, KV_PUT, { key, value }, context.timeoutMs);
      acks.record(response.header?.revision ?? 0, performance.now());
    } catch (error) {
      tally.errors++;
      tally.firstError ??= `writer: ${(error as Error).message}`;
    }
  }
}

async function measureWatch(spec: MeasureSpec, context: WorkloadContext): Promise<RunResult> {
  const recorder = new LatencyRecorder();
  const acks = new AckTimes();
  const tally: Tally = { events: 0, errors: 0, firstError: null };
  let measureFromMs = Number.POSITIVE_INFINITY;
  let endMs = Number.POSITIVE_INFINITY;
  const onEvents = (events: readonly mvccpb.Event.$Properties[]): void => {
    const nowMs = performance.now();
    if (nowMs < measureFromMs || nowMs >= endMs) return;
    for (const event of events) {
      const ackMs = acks.get(event.kv?.modRevision ?? 0);
      recorder.recordMs(ackMs === undefined ? 0 : Math.max(0, nowMs - ackMs));
      tally.events++;
    }
  };
  const onError = (error: Error): void => {
    tally.errors++;
    tally.firstError ??= `watcher: ${error.message}`;
  };
  const opened = await Promise.allSettled(
    Array.from({ length: spec.concurrency }, (_, i) =>
      openWatcher(spec.channels[i % spec.channels.length] as Client, onEvents, onError),
    ),
  );
  const streams = opened.flatMap((o) => (o.status === "fulfilled" ? [o.value] : []));
  for (const o of opened) if (o.status === "rejected") onError(o.reason as Error);
  const resources = sampleResources(spec.serverPids, spec.warmupMs);
  measureFromMs = performance.now() + spec.warmupMs;
  endMs = measureFromMs + spec.durationMs;
  if (streams.length > 0) {
    await writeUntil(spec.channels[0] as Client, context, endMs, acks, tally);
  }
  const seconds = spec.durationMs / 1000;
  const resourceUse = await resources.finish(seconds);
  for (const stream of streams) stream.cancel();
  return {
    concurrency: spec.concurrency,
    opsPerSecond: tally.events / seconds,
    operations: tally.events,
    errors: tally.errors,
    firstError: tally.firstError,
    ...resourceUse,
    ...recorder.summary(),
  };
}

export const watchWorkload: Workload = {
  name: "watch",
  description: "1 writer, N watchers on Watch streams: events/s and put-ack → event latency",
  operation() {
    throw new Error("watch runs with its own runner (measure)");
  },
  measure: measureWatch,
};
