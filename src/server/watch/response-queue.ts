// A stream's FIFO of responses not yet handed to gRPC, with the accounting
// the bounds are checked against: per watcher (events, bytes, responses) and
// per stream (control responses). Bounds are enforced by the stream.
import { assert } from "../../util/assert.js";
import type { WatchResponse } from "./watch-responses.js";
import type { Watcher } from "./watcher.js";

export interface QueuedResponse {
  readonly response: WatchResponse;
  /** The watcher whose counters this response is charged to, if any. */
  readonly watcher: Watcher | null;
  readonly events: number;
  readonly bytes: number;
  /** Created/canceled/stream-wide progress: counted against the stream's control bound. */
  readonly control: boolean;
}

/** Sent items are dropped from the front in batches of at least this many. */
const COMPACT_AFTER_SHIFTS = 1024;

export class ResponseQueue {
  private items: QueuedResponse[] = [];
  private head = 0;
  private controlCount = 0;
  private bytesCount = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  get controlQueued(): number {
    return this.controlCount;
  }

  /** Estimated event bytes of every queued response (the stream-wide memory bound). */
  get bytesQueued(): number {
    return this.bytesCount;
  }

  push(item: QueuedResponse): void {
    this.items.push(item);
    if (item.control) this.controlCount++;
    this.bytesCount += item.bytes;
    const watcher = item.watcher;
    if (watcher !== null) {
      watcher.queuedEvents += item.events;
      watcher.queuedBytes += item.bytes;
      watcher.queuedResponses++;
    }
  }

  /** The oldest item, released from the counters. */
  shift(): QueuedResponse | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head] as QueuedResponse;
    this.head++;
    if (this.head >= COMPACT_AFTER_SHIFTS && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.release(item);
    return item;
  }

  /** Drops a canceled watcher's undelivered events and progress; control responses stay. */
  purgeEvents(watcher: Watcher): void {
    const kept: QueuedResponse[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i] as QueuedResponse;
      if (item.watcher === watcher && !item.control) this.release(item);
      else kept.push(item);
    }
    this.items = kept;
    this.head = 0;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.controlCount = 0;
    this.bytesCount = 0;
  }

  private release(item: QueuedResponse): void {
    if (item.control) this.controlCount--;
    this.bytesCount -= item.bytes;
    const watcher = item.watcher;
    if (watcher === null) return;
    watcher.queuedEvents -= item.events;
    watcher.queuedBytes -= item.bytes;
    watcher.queuedResponses--;
    assert(watcher.queuedResponses >= 0, `watcher ${watcher.id}: queued responses below 0`);
    assert(watcher.queuedEvents >= 0, `watcher ${watcher.id}: queued events below 0`);
  }
}
