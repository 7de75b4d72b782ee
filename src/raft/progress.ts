// What the leader knows about one peer's log (match/next) and how it is
// currently replicating to it: probing one message at a time, or streaming
// optimistically within an inflight window (etcd-io/raft's tracker.Progress).

import { assert } from "../util/assert.js";
import { Inflights } from "./inflights.js";
import type { LogIndex } from "./types.js";

/**
 * probe: we do not know where the follower's log ends; send one MsgApp per
 * heartbeat interval and wait for the answer.
 * replicate: the follower acknowledged `match`; stream entries, advancing
 * `next` optimistically, bounded by the inflight window.
 * snapshot: the follower needs a snapshot (reserved for log compaction).
 */
export type ProgressState = "probe" | "replicate" | "snapshot";

export class Progress {
  /** Highest index known to be replicated (durably) on the peer. Invariant: match < next. */
  match: LogIndex;
  /** Index of the next entry to send. */
  next: LogIndex;
  state: ProgressState = "probe";
  /** Snapshot index being sent while in state "snapshot"; 0 otherwise. */
  pendingSnapshot: LogIndex = 0;
  /** Heard from since the last check-quorum round (the leader is always active). */
  recentActive = false;
  /** Leader ticks since the last message from this peer. */
  ticksSinceHeardFrom = 0;
  /**
   * Probe: a probe is outstanding, wait for an answer or the next heartbeat.
   * Replicate: the inflight window is full.
   */
  msgAppFlowPaused = false;
  /** Highest commit index sent to the peer, so we only bump it when it helps. */
  sentCommit: LogIndex = 0;
  readonly inflights: Inflights;

  constructor(match: LogIndex, next: LogIndex, maxInflightMessages: number) {
    assert(match < next, `progress match ${match} >= next ${next}`);
    this.match = match;
    this.next = next;
    this.inflights = new Inflights(maxInflightMessages);
  }

  becomeProbe(): void {
    if (this.state === "snapshot") {
      const pendingSnapshot = this.pendingSnapshot;
      this.resetState("probe");
      this.next = Math.max(this.match + 1, pendingSnapshot + 1);
    } else {
      this.resetState("probe");
      this.next = this.match + 1;
    }
    this.sentCommit = Math.min(this.sentCommit, this.next - 1);
  }

  becomeReplicate(): void {
    this.resetState("replicate");
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: LogIndex): void {
    this.resetState("snapshot");
    this.pendingSnapshot = snapshotIndex;
    this.next = snapshotIndex + 1;
    this.sentCommit = snapshotIndex;
  }

  /** Accounts for a MsgApp carrying `count` entries just sent to the peer. */
  sentEntries(count: number): void {
    assert(count >= 0, "negative entry count");
    switch (this.state) {
      case "replicate":
        if (count > 0) {
          this.next += count;
          this.inflights.add(this.next - 1);
        }
        // A full window turns the next send into an empty probe for recovery.
        this.msgAppFlowPaused = this.inflights.full();
        return;
      case "probe":
        // Any MsgApp in probe state is a probe: wait for its answer (or a heartbeat).
        this.msgAppFlowPaused = true;
        return;
      case "snapshot":
        assert(false, "sending entries to a peer waiting for a snapshot");
    }
  }

  sentCommitIndex(commit: LogIndex): void {
    this.sentCommit = commit;
  }

  /** True if sending `commit` now could let the peer commit more than we last told it. */
  canBumpCommit(commit: LogIndex): boolean {
    return commit > this.sentCommit && this.sentCommit < this.next - 1;
  }

  /** Handles an acknowledgement of `index`; returns false if it was stale. */
  maybeUpdate(index: LogIndex): boolean {
    if (index <= this.match) {
      return false;
    }
    this.match = index;
    this.next = Math.max(this.next, index + 1);
    this.msgAppFlowPaused = false;
    assert(this.match < this.next, "match < next after update");
    return true;
  }

  /**
   * Handles a rejection of the MsgApp whose previous index was `rejected`,
   * with the follower's hint that logs may match at `matchHint`. Returns false
   * if the rejection is stale (answers an older message).
   */
  maybeDecrTo(rejected: LogIndex, matchHint: LogIndex): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) {
        return false;
      }
      this.next = this.match + 1;
      this.sentCommit = Math.min(this.sentCommit, this.next - 1);
      return true;
    }
    // Probes go out one at a time, so only an answer to the latest one counts.
    if (this.next - 1 !== rejected) {
      return false;
    }
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.sentCommit = Math.min(this.sentCommit, this.next - 1);
    this.msgAppFlowPaused = false;
    assert(this.match < this.next, "match < next after decrement");
    return true;
  }

  /** The peer lost entries it had acknowledged: probe again from `match`. */
  resetMatch(match: LogIndex): void {
    assert(match < this.match, `resetMatch ${match} must lower match ${this.match}`);
    this.resetState("probe");
    this.match = match;
    this.next = match + 1;
    this.sentCommit = Math.min(this.sentCommit, match);
  }

  isPaused(): boolean {
    switch (this.state) {
      case "probe":
      case "replicate":
        return this.msgAppFlowPaused;
      case "snapshot":
        return true;
    }
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }
}
