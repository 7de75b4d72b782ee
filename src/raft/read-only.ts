// The leader's queue of ReadIndex requests awaiting leadership confirmation.
// Each request gets a position; heartbeats carry the newest position and a
// follower's echo acknowledges every request up to it, so one round confirms a batch.

import { assert } from "../util/assert.js";
import { committedIndex } from "./quorum.js";
import type { LogIndex, NodeId } from "./types.js";

export interface ReadIndexRequest {
  /** The commit index when the request arrived: the read must see at least this. */
  readonly index: LogIndex;
  /** Who asked: the leader itself (local read) or a follower that forwarded it. */
  readonly from: NodeId;
  readonly context: Uint8Array;
}

const POSITION_BYTES = 8;

export function encodePosition(position: number): Uint8Array {
  assert(Number.isSafeInteger(position) && position > 0, `read position ${position} invalid`);
  const bytes = new Uint8Array(POSITION_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, position % 2 ** 32, true);
  view.setUint32(4, Math.floor(position / 2 ** 32), true);
  return bytes;
}

/** Decodes a heartbeat context; undefined if it is not one of ours. */
export function decodePosition(context: Uint8Array): number | undefined {
  if (context.byteLength !== POSITION_BYTES) {
    return undefined;
  }
  const view = new DataView(context.buffer, context.byteOffset, POSITION_BYTES);
  const position = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  return Number.isSafeInteger(position) && position > 0 ? position : undefined;
}

export class ReadOnlyQueue {
  /** Requests not yet confirmed; the k-th has position confirmedPosition + k + 1. */
  private unconfirmed: ReadIndexRequest[] = [];
  private confirmedPosition = 0;
  /** Highest position each voter echoed back. */
  private readonly acks = new Map<NodeId, number>();

  get pendingCount(): number {
    return this.unconfirmed.length;
  }

  /** Queues a request and returns its position. */
  add(request: ReadIndexRequest): number {
    this.unconfirmed.push(request);
    return this.lastPosition();
  }

  lastPosition(): number {
    return this.confirmedPosition + this.unconfirmed.length;
  }

  /** Context for the next heartbeat: the newest position, or empty if nothing waits. */
  heartbeatContext(): Uint8Array {
    if (this.unconfirmed.length === 0) {
      return new Uint8Array(0);
    }
    return encodePosition(this.lastPosition());
  }

  recvAck(from: NodeId, position: number): void {
    // A position beyond what we issued cannot come from this leader's term.
    if (position > this.lastPosition()) {
      return;
    }
    this.acks.set(from, Math.max(this.acks.get(from) ?? 0, position));
  }

  /** Releases (in order) every request a quorum of `voters` has acknowledged. */
  maybeAdvance(voters: readonly NodeId[]): ReadIndexRequest[] {
    const confirmed = committedIndex(voters, (id) => this.acks.get(id) ?? 0);
    if (confirmed <= this.confirmedPosition) {
      return [];
    }
    const count = confirmed - this.confirmedPosition;
    assert(count <= this.unconfirmed.length, "confirmed more reads than were queued");
    const released = this.unconfirmed.slice(0, count);
    this.unconfirmed = this.unconfirmed.slice(count);
    this.confirmedPosition = confirmed;
    return released;
  }
}
