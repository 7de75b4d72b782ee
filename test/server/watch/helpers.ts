// Fakes for testing the watch hub and streams without gRPC: a node that
// applies commands to a real state machine and publishes each batch only when
// told (the window where applied events are "in flight"), a sink with a
// bounded transport buffer, and a manual scheduler.

import { etcdserverpb } from "../../../src/gen/etcd.js";
import { WatchHub } from "../../../src/server/watch/watch-hub.js";
import type { WatchResponse } from "../../../src/server/watch/watch-responses.js";
import {
  WATCH_STREAM_DEFAULTS,
  type WatchResponseSink,
  WatchStream,
  type WatchStreamLimits,
} from "../../../src/server/watch/watch-stream.js";
import type { Command } from "../../../src/state/command.js";
import type { WatchEvent } from "../../../src/state/index.js";
import { StateMachine } from "../../../src/state/state-machine.js";

export { compactTo, del, grant, put, putOp, revoke, txn } from "../../state/helpers.js";

/** Applies to a real StateMachine; batches reach the hub only on publish(). */
export class FakeNode {
  readonly sm = new StateMachine();
  readonly hub = new WatchHub(this.sm);
  /** Applied but not yet published: [events, revision] per batch. */
  readonly inFlight: Array<[readonly WatchEvent[], number]> = [];
  /** Every event ever applied, in order (the oracle's source). */
  readonly allEvents: WatchEvent[] = [];

  apply(...commands: Command[]): void {
    const events: WatchEvent[] = [];
    for (const command of commands) events.push(...this.sm.apply(command).events);
    this.allEvents.push(...events);
    // The node publishes only batches with events, as RaftNode does.
    if (events.length > 0) this.inFlight.push([events, this.sm.kv.revision]);
  }

  /** Publishes up to `count` in-flight batches, oldest first. */
  publish(count = Number.POSITIVE_INFINITY): void {
    for (let i = 0; i < count && this.inFlight.length > 0; i++) {
      const [events, revision] = this.inFlight.shift() as [readonly WatchEvent[], number];
      this.hub.publish(events, revision);
    }
  }

  /** apply + publish at once: the common, no-window case. */
  commit(...commands: Command[]): void {
    this.apply(...commands);
    this.publish();
  }
}

export class ManualScheduler {
  private tasks: Array<() => void> = [];
  readonly schedule = (task: () => void): void => {
    this.tasks.push(task);
  };

  get pending(): number {
    return this.tasks.length;
  }

  /** Runs one queued task; false when there was none. */
  step(): boolean {
    const task = this.tasks.shift();
    if (task === undefined) return false;
    task();
    return true;
  }

  /** Runs tasks until none is left (bounded, so a livelock fails the test). */
  runAll(stepsMax = 10_000): void {
    for (let i = 0; i < stepsMax; i++) if (!this.step()) return;
    throw new Error(`scheduler still busy after ${stepsMax} steps`);
  }
}

/**
 * A transport that buffers up to `capacity` responses (write() says false at
 * the limit, like a Node stream over its high-water mark) until deliver().
 * With capacity Infinity it never pushes back.
 */
export class FakeSink implements WatchResponseSink {
  readonly received: WatchResponse[] = [];
  private buffered: WatchResponse[] = [];
  paused = false;
  pauseCalls = 0;
  onDrain: () => void = () => {};

  constructor(public capacity = Number.POSITIVE_INFINITY) {}

  write(response: WatchResponse): boolean {
    // Round-trip through protobuf: what the client sees, and proof it encodes.
    const wire = etcdserverpb.WatchResponse.decode(
      etcdserverpb.WatchResponse.encode(response).finish(),
    );
    this.buffered.push(wire);
    if (this.capacity === Number.POSITIVE_INFINITY) this.flush();
    return this.buffered.length < this.capacity;
  }

  pauseRequests(): void {
    this.paused = true;
    this.pauseCalls++;
  }

  resumeRequests(): void {
    this.paused = false;
  }

  /** The client reads everything buffered; the stream hears 'drain'. */
  deliver(): void {
    const wasFull = this.buffered.length >= this.capacity;
    this.flush();
    if (wasFull) this.onDrain();
  }

  private flush(): void {
    this.received.push(...this.buffered);
    this.buffered = [];
  }
}

export const HEADERS = {
  header: (revision: number) => ({ clusterId: 7, memberId: 3, revision, raftTerm: 2 }),
};

export function openStream(
  node: FakeNode,
  options: { sink?: FakeSink; limits?: Partial<WatchStreamLimits> } = {},
): { stream: WatchStream; sink: FakeSink; scheduler: ManualScheduler } {
  const sink = options.sink ?? new FakeSink();
  const scheduler = new ManualScheduler();
  const stream = new WatchStream({
    hub: node.hub,
    headers: HEADERS,
    sink,
    limits: { ...WATCH_STREAM_DEFAULTS, ...options.limits },
    schedule: scheduler.schedule,
  });
  sink.onDrain = () => stream.onDrain();
  return { stream, sink, scheduler };
}

export interface CreateOptions {
  rangeEnd?: string;
  startRevision?: number;
  prevKv?: boolean;
  noPut?: boolean;
  noDelete?: boolean;
  fragment?: boolean;
  progressNotify?: boolean;
  watchId?: number;
}

export function createRequest(key: string, options: CreateOptions = {}) {
  const filters: number[] = [];
  if (options.noPut === true) filters.push(0);
  if (options.noDelete === true) filters.push(1);
  const rangeEnd = options.rangeEnd ?? "";
  return {
    createRequest: {
      key: Buffer.from(key, "latin1"),
      rangeEnd: rangeEnd === "\0" ? new Uint8Array([0]) : Buffer.from(rangeEnd, "latin1"),
      startRevision: options.startRevision ?? 0,
      filters,
      prevKv: options.prevKv ?? false,
      fragment: options.fragment ?? false,
      progressNotify: options.progressNotify ?? false,
      watchId: options.watchId ?? 0,
    },
  };
}

export const cancelRequest = (watchId: number) => ({ cancelRequest: { watchId } });
export const progressRequest = () => ({ progressRequest: {} });

/** A compact, comparable view of one received event. */
export interface SeenEvent {
  type: "put" | "delete";
  key: string;
  value: string;
  mod: number;
  prev: string | null;
}

export function seenEvents(responses: readonly WatchResponse[], watchId: number): SeenEvent[] {
  const out: SeenEvent[] = [];
  for (const response of responses) {
    if ((response.watchId ?? 0) !== watchId) continue;
    for (const event of response.events ?? []) {
      const kv = event.kv;
      out.push({
        type: event.type === 1 ? "delete" : "put",
        key: Buffer.from(kv?.key ?? []).toString("latin1"),
        value: Buffer.from(kv?.value ?? []).toString("latin1"),
        mod: Number(kv?.modRevision ?? 0),
        prev: event.prevKv ? Buffer.from(event.prevKv.value ?? []).toString("latin1") : null,
      });
    }
  }
  return out;
}

/** The same view of oracle events (what a watcher of `key`..`rangeEnd` should see). */
export function expectedEvents(
  events: readonly WatchEvent[],
  filter: (event: WatchEvent) => boolean,
  withPrevKv: boolean,
): SeenEvent[] {
  return events.filter(filter).map((event) => ({
    type: event.type,
    key: Buffer.from(event.kv.key).toString("latin1"),
    value: Buffer.from(event.kv.value).toString("latin1"),
    mod: event.kv.modRevision,
    prev:
      withPrevKv && event.prevKv !== null
        ? Buffer.from(event.prevKv.value).toString("latin1")
        : null,
  }));
}
