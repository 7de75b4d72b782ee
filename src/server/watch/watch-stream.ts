// One Watch bidi stream: its watchers and their ids, the single ordered queue
// of responses it owes the client, and the work that fills it besides live
// events — catch-up reads for unsynced watchers and progress notifications.
//
// One FIFO per stream keeps every ordering etcd promises for free: a watcher's
// created response precedes its events, its events go out in revision order,
// and a stream-wide progress response (queued only once no watcher is
// unsynced) can never overtake an event below its revision (etcd #15220).

import type { etcdserverpb } from "../../gen/etcd.js";
import type { WatchEvent } from "../../state/index.js";
import { assert, assertNever } from "../../util/assert.js";
import { EventSkipper } from "../unsafe.js";
import { type QueuedResponse, ResponseQueue } from "./response-queue.js";
import { type CatchUpBudget, eventBytes, type WatchHub } from "./watch-hub.js";
import { CANCEL_REASONS, parseWatchRequest, type WatchSpec } from "./watch-request.js";
import {
  canceledResponse,
  createdResponse,
  eventsResponse,
  INVALID_WATCH_ID,
  progressResponse,
  type ResponseHeader,
  rejectedResponse,
  splitFragments,
  type WatchResponse,
} from "./watch-responses.js";
import { Watcher, type WatcherOwner } from "./watcher.js";

/** Where a stream's responses go (the gRPC call, or a fake in tests). */
export interface WatchResponseSink {
  /** False when the transport's buffer is full: the stream waits for onDrain(). */
  write(response: WatchResponse): boolean;
  /** Backpressure on a client that floods requests faster than it reads replies. */
  pauseRequests(): void;
  resumeRequests(): void;
}

export interface WatchHeaderSource {
  header(revision: number): ResponseHeader;
}

export interface WatchStreamLimits {
  /** Per watcher: queued events before it is unsynced (exceeded by at most one revision). */
  readonly bufferEventsMax: number;
  /** Per watcher: queued event bytes (estimated) before it is unsynced. */
  readonly bufferBytesMax: number;
  /** Per stream: queued event bytes (all watchers) past which live batches are refused. */
  readonly streamBytesMax: number;
  /** Per stream: queued control responses before reading requests pauses. */
  readonly controlQueuedMax: number;
  /** Per stream: watchers; a create beyond it is refused. */
  readonly watchersMax: number;
  /** Per turn of the event loop: history reads, so catch-up never starves the node. */
  readonly catchUpReadsPerTurnMax: number;
  /** A fragment-enabled response at or over this many bytes is split. */
  readonly fragmentBytesMax: number;
  /** Period of progress_notify responses (etcd: 10 minutes). */
  readonly progressNotifyIntervalMs: number;
}

export const WATCH_STREAM_DEFAULTS: WatchStreamLimits = {
  bufferEventsMax: 1024,
  bufferBytesMax: 8 * 1024 * 1024,
  streamBytesMax: 64 * 1024 * 1024,
  controlQueuedMax: 256,
  watchersMax: 100_000,
  catchUpReadsPerTurnMax: 16,
  fragmentBytesMax: 1.5 * 1024 * 1024 + 512 * 1024,
  progressNotifyIntervalMs: 10 * 60 * 1000,
};

export interface WatchStreamDeps {
  readonly hub: WatchHub;
  readonly headers: WatchHeaderSource;
  readonly sink: WatchResponseSink;
  readonly limits: WatchStreamLimits;
  /** Runs a task soon (setImmediate in production; a manual queue in tests). */
  readonly schedule: (task: () => void) => void;
  /** Test-only planted bug (--unsafe watch-skip): drop every Nth event this stream sends. */
  readonly skipEveryEvents?: number;
}

export class WatchStream implements WatcherOwner {
  private readonly watchers = new Map<number, Watcher>();
  /** In catch-up order: a watcher that needs another read goes to the back. */
  private readonly unsynced = new Set<Watcher>();
  private readonly queue = new ResponseQueue();
  private nextId = 0;
  private blocked = false;
  private requestsPaused = false;
  private workScheduled = false;
  private progressDeferred = false;
  private progressTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly limits: WatchStreamLimits;
  private readonly budget: CatchUpBudget;
  private readonly skipper: EventSkipper | null;

  constructor(private readonly deps: WatchStreamDeps) {
    this.limits = deps.limits;
    this.skipper =
      deps.skipEveryEvents === undefined ? null : new EventSkipper(deps.skipEveryEvents);
    assert(this.limits.bufferEventsMax >= 2, "bufferEventsMax must be >= 2");
    assert(this.limits.progressNotifyIntervalMs > 0, "progressNotifyIntervalMs must be > 0");
    // Reads happen only below half the bound, so a read of half keeps the whole bound.
    this.budget = {
      eventsMax: Math.floor(this.limits.bufferEventsMax / 2),
      bytesMax: Math.floor(this.limits.bufferBytesMax / 2),
    };
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  get unsyncedCount(): number {
    return this.unsynced.size;
  }

  get queuedResponses(): number {
    return this.queue.length;
  }

  get queuedBytes(): number {
    return this.queue.bytesQueued;
  }

  handle(request: etcdserverpb.WatchRequest.$Properties): void {
    if (this.closed) return;
    const command = parseWatchRequest(request);
    switch (command.kind) {
      case "create":
        this.create(command.spec);
        break;
      case "reject":
        this.enqueueControl(rejectedResponse(this.header(), command.reason), null);
        break;
      case "cancel":
        this.cancel(command.watchId);
        break;
      case "progress":
        this.requestProgress();
        break;
      case "ignore":
        break;
      default:
        assertNever(command, "watch command");
    }
  }

  /** The sink can take writes again. */
  onDrain(): void {
    this.blocked = false;
    this.scheduleWork();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const watcher of this.watchers.values()) this.deps.hub.detach(watcher);
    this.watchers.clear();
    this.unsynced.clear();
    this.queue.clear();
    if (this.progressTimer !== null) clearInterval(this.progressTimer);
    this.progressTimer = null;
  }

  // ------------------------------------------------------------ WatcherOwner

  offerLive(watcher: Watcher, events: readonly WatchEvent[], revision: number): boolean {
    assert(!this.closed, "a closed stream's watchers are detached");
    const selected = watcher.select(events);
    if (selected.length === 0) return true;
    const bytes = selected.reduce((sum, event) => sum + eventBytes(event), 0);
    // A full stream refuses everyone: its watchers catch up once it has drained.
    if (this.queue.bytesQueued + bytes > this.limits.streamBytesMax) return false;
    const full =
      watcher.queuedEvents + selected.length > this.limits.bufferEventsMax ||
      watcher.queuedBytes + bytes > this.limits.bufferBytesMax;
    // An empty buffer takes any one batch: a revision is never split, however large.
    if (full && watcher.queuedEvents > 0) return false;
    this.enqueueEvents(watcher, selected, revision, bytes);
    return true;
  }

  onUnsynced(watcher: Watcher): void {
    assert(watcher.state === "unsynced", "onUnsynced for a watcher the hub left synced");
    this.unsynced.add(watcher);
    this.scheduleWork();
  }

  // ------------------------------------------------------------ requests

  private create(spec: WatchSpec): void {
    if (this.watchers.size >= this.limits.watchersMax) {
      const reason = `etcdserver: too many watchers on one stream (max ${this.limits.watchersMax})`;
      this.enqueueControl(rejectedResponse(this.header(), reason), null);
      return;
    }
    const id = this.allocateId(spec.requestedId);
    if (id === null) {
      this.enqueueControl(rejectedResponse(this.header(), CANCEL_REASONS.duplicateId), null);
      return;
    }
    const watcher = new Watcher(id, spec, this);
    this.watchers.set(id, watcher);
    this.enqueueControl(createdResponse(this.header(), id), watcher);
    const compactRevision = this.deps.hub.compactRevision;
    // History at or below the compact revision is gone (the state machine's rule).
    if (spec.startRevision > 0 && spec.startRevision <= compactRevision) {
      this.cancelCompacted(watcher, compactRevision);
      return;
    }
    if (this.deps.hub.attach(watcher) === "unsynced") this.unsynced.add(watcher);
    if (spec.progressNotify) this.startProgressTimer();
  }

  /** etcd's rule: the client's id if it gave one and it is free; else the lowest free from a counter. */
  private allocateId(requested: number): number | null {
    if (requested !== 0) return this.watchers.has(requested) ? null : requested;
    while (this.watchers.has(this.nextId)) this.nextId++;
    return this.nextId++;
  }

  private cancel(watchId: number): void {
    const watcher = this.watchers.get(watchId);
    if (watcher === undefined) return; // etcd 3.4 ignores unknown ids silently
    this.remove(watcher);
    this.queue.purgeEvents(watcher);
    this.enqueueControl(canceledResponse(this.header(), watchId), null);
  }

  private requestProgress(): void {
    if (this.unsynced.size === 0) {
      this.enqueueControl(progressResponse(this.header(), INVALID_WATCH_ID), null);
      return;
    }
    // Like etcd 3.4.25+: answer once synced; requests meanwhile fold into one reply.
    this.progressDeferred = true;
  }

  private remove(watcher: Watcher): void {
    this.deps.hub.detach(watcher);
    this.watchers.delete(watcher.id);
    this.unsynced.delete(watcher);
  }

  private cancelCompacted(watcher: Watcher, compactRevision: number): void {
    this.remove(watcher);
    const compacted = { compactRevision, reason: CANCEL_REASONS.compacted };
    this.enqueueControl(canceledResponse(this.header(), watcher.id, compacted), watcher);
  }

  // ------------------------------------------------------------ queue

  private header(revision = this.deps.hub.revision): ResponseHeader {
    return this.deps.headers.header(revision);
  }

  private enqueueEvents(
    watcher: Watcher,
    events: readonly WatchEvent[],
    revision: number,
    bytes: number,
  ): void {
    const sent = this.skipper === null ? events : this.skipper.filter(events);
    if (sent.length === 0) return;
    const response = eventsResponse(this.header(revision), watcher.id, sent, watcher.spec.prevKv);
    const pieces = watcher.spec.fragment
      ? splitFragments(response, this.limits.fragmentBytesMax)
      : [response];
    pieces.forEach((piece, index) => {
      // The byte estimate rides on the last piece; event counts are exact per piece.
      const pieceBytes = index === pieces.length - 1 ? bytes : 0;
      const count = piece.events?.length ?? 0;
      this.push({ response: piece, watcher, events: count, bytes: pieceBytes, control: false });
    });
    watcher.progressDue = false;
  }

  private enqueueControl(response: WatchResponse, watcher: Watcher | null): void {
    this.push({ response, watcher, events: 0, bytes: 0, control: true });
    if (!this.requestsPaused && this.queue.controlQueued >= this.limits.controlQueuedMax) {
      this.requestsPaused = true;
      this.deps.sink.pauseRequests();
    }
  }

  private push(item: QueuedResponse): void {
    this.queue.push(item);
    this.scheduleWork();
  }

  // ------------------------------------------------------------ work

  private scheduleWork(): void {
    if (this.workScheduled || this.closed) return;
    this.workScheduled = true;
    this.deps.schedule(() => {
      this.workScheduled = false;
      if (this.closed) return;
      this.pump();
      this.catchUpTurn();
      this.pump();
    });
  }

  /** Writes queued responses until the sink pushes back. */
  private pump(): void {
    while (!this.blocked && !this.closed) {
      const item = this.queue.shift();
      if (item === undefined) break;
      if (!this.deps.sink.write(item.response)) this.blocked = true;
    }
    if (this.requestsPaused && this.queue.controlQueued <= this.limits.controlQueuedMax / 2) {
      this.requestsPaused = false;
      this.deps.sink.resumeRequests();
    }
  }

  private hasRoom(watcher: Watcher): boolean {
    return (
      watcher.queuedEvents <= this.budget.eventsMax &&
      watcher.queuedBytes <= this.budget.bytesMax &&
      this.queue.bytesQueued <= this.limits.streamBytesMax / 2
    );
  }

  /** Up to catchUpReadsPerTurnMax history reads, round robin over watchers with room. */
  private catchUpTurn(): void {
    let reads = 0;
    for (const watcher of [...this.unsynced]) {
      if (reads >= this.limits.catchUpReadsPerTurnMax || this.closed) break;
      if (!this.hasRoom(watcher)) continue;
      reads++;
      this.catchUpOnce(watcher);
    }
    if (this.unsynced.size === 0 && this.progressDeferred) {
      this.progressDeferred = false;
      this.enqueueControl(progressResponse(this.header(), INVALID_WATCH_ID), null);
    }
    // Watchers without room wait for the sink to drain, which schedules work again.
    for (const watcher of this.unsynced) {
      if (this.hasRoom(watcher)) {
        this.scheduleWork();
        break;
      }
    }
  }

  private catchUpOnce(watcher: Watcher): void {
    const result = this.deps.hub.catchUp(watcher, this.budget);
    switch (result.kind) {
      case "compacted":
        this.cancelCompacted(watcher, result.compactRevision);
        return;
      case "events": {
        const selected = watcher.select(result.events);
        if (selected.length > 0) {
          const bytes = selected.reduce((sum, event) => sum + eventBytes(event), 0);
          this.enqueueEvents(watcher, selected, result.revision, bytes);
        }
        this.unsynced.delete(watcher);
        if (!result.synced) this.unsynced.add(watcher);
        return;
      }
      default:
        assertNever(result, "catch-up result");
    }
  }

  // ------------------------------------------------------------ progress_notify

  private startProgressTimer(): void {
    if (this.progressTimer !== null || this.closed) return;
    this.progressTimer = setInterval(
      () => this.onProgressTick(),
      this.limits.progressNotifyIntervalMs,
    );
    this.progressTimer.unref();
  }

  /** etcd's rule: a synced watcher that got no events since the last tick gets an empty response. */
  private onProgressTick(): void {
    for (const watcher of this.watchers.values()) {
      if (!watcher.spec.progressNotify) continue;
      // Nothing queued for it: a blocked client never piles up progress responses.
      if (watcher.progressDue && watcher.state === "synced" && watcher.queuedResponses === 0) {
        this.push({
          response: progressResponse(this.header(), watcher.id),
          watcher,
          events: 0,
          bytes: 0,
          control: false,
        });
      }
      watcher.progressDue = true;
    }
  }
}
