// The leader's flow-control window towards one follower: the last index of
// every MsgApp sent but not yet acknowledged, in a fixed-capacity ring. When the
// ring is full the leader stops sending entries to that follower.

import { assert } from "../util/assert.js";
import type { LogIndex } from "./types.js";

export class Inflights {
  readonly capacity: number;
  /** Ring storage; slot (start + k) % capacity holds the k-th oldest index. */
  private readonly buffer: LogIndex[];
  private start = 0;
  private size = 0;

  constructor(capacity: number) {
    assert(Number.isSafeInteger(capacity) && capacity > 0, `inflights capacity ${capacity} <= 0`);
    this.capacity = capacity;
    this.buffer = new Array<LogIndex>(capacity).fill(0);
  }

  get count(): number {
    return this.size;
  }

  full(): boolean {
    return this.size === this.capacity;
  }

  /** Records a MsgApp whose last entry is `lastIndex`; indexes must increase. */
  add(lastIndex: LogIndex): void {
    assert(!this.full(), "cannot add to full inflights");
    if (this.size > 0) {
      const newest = this.buffer[(this.start + this.size - 1) % this.capacity];
      assert(newest !== undefined && lastIndex > newest, `inflight ${lastIndex} not increasing`);
    }
    this.buffer[(this.start + this.size) % this.capacity] = lastIndex;
    this.size += 1;
  }

  /** Frees every message whose last index is <= `index` (they are acknowledged). */
  freeLE(index: LogIndex): void {
    while (this.size > 0) {
      const oldest = this.buffer[this.start];
      assert(oldest !== undefined, "inflights slot out of range");
      if (oldest > index) {
        break;
      }
      this.start = (this.start + 1) % this.capacity;
      this.size -= 1;
    }
  }

  reset(): void {
    this.start = 0;
    this.size = 0;
  }
}
