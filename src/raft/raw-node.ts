// The synchronous driver API of the Raft core. The shell feeds it ticks, peer
// messages and requests, then repeatedly takes a Ready, does the work it
// describes, and hands it back with advance(). No I/O, clocks or timers here.
//
// The shell's loop, in this order:
//  1. rd = ready() (only when hasReady(); never twice without advance()).
//  2. Send rd.earlyMessages, if any, at once: they may leave before (or while)
//     step 3 runs. Sending them after step 3 instead is also correct.
//  3. Persist rd.entries (appending truncates everything from the first one)
//     and rd.hardState in one write, synced when rd.mustSync; then make the
//     Storage given to the RawNode reflect it.
//  4. Send rd.messages — only after step 3 is durable: they include vote
//     grants and append acknowledgements that promise durable state.
//  5. Apply rd.committedEntries in order, then surface rd.readStates.
//     committedEntries are always entries that were durable before this Ready.
//  6. advance(rd).
// tick/step/propose/readIndex may be called between ready() and advance()
// (e.g. while the write is in flight); their effects appear in the next Ready.
//
// Early messages (thesis §10.2.1, etcd's leader does the same): a leader may
// replicate entries while its own write of them is still running, because it
// counts itself toward a commit quorum only once its write is durable
// (Raft.onEntriesStable, called from advance). Until then it is just a member
// that lacks the entries; if it crashes first it loses them like any follower
// would, and the followers' copies are safe: they came from a legitimate
// leader of the term. So the leader-only replication types go early (see
// EARLY_MESSAGE_TYPES): MsgApp, MsgHeartbeat (their commit index is backed by
// a quorum's durable writes), MsgSnap (a snapshot comes from stable state),
// MsgTimeoutNow (the transferee already holds our log durably) and
// MsgReadIndexResp (a committed index confirmed by a heartbeat quorum).
// Nothing goes early in a Ready that changes term or vote: a leader's
// messages rely on the durable record that it won (and voted for itself in)
// their term. With other voters that record was written before its MsgVote
// left, but a sole voter wins its election in the same Ready, and a restart
// that forgot the term could win it again with a different log. Everything a
// follower or candidate sends (MsgAppResp, votes and their answers, heartbeat
// answers, forwarded proposals and reads) always waits for the persist.

import { assert } from "../util/assert.js";
import type { ConfChange } from "./conf-change.js";
import {
  type BasicStatus,
  COMMITTED_BYTES_PER_READY_MAX,
  type PeerStatus,
  type ProposeResult,
  type RaftConfig,
  type RaftStatus,
  validateConfig,
} from "./config.js";
import { isAcceptablePeerMessage } from "./message-check.js";
import { Raft } from "./raft.js";
import {
  campaign,
  propose,
  proposeBatch,
  readIndex,
  reportSnapshot,
  reportUnreachable,
  transferLeader,
} from "./requests.js";
import type {
  ConfState,
  HardState,
  Message,
  MessageType,
  NodeId,
  Ready,
  SoftState,
} from "./types.js";

/** Types that may leave before the Ready's persist; all are sent only by a leader. */
export const EARLY_MESSAGE_TYPES: ReadonlySet<MessageType> = new Set<MessageType>([
  "MsgApp",
  "MsgHeartbeat",
  "MsgSnap",
  "MsgTimeoutNow",
  "MsgReadIndexResp",
]);

/**
 * Splits a Ready's messages into those that may leave before its persist and
 * the rest (see the header). `termOrVoteChanged`: the Ready records a new term
 * or vote, in which case everything waits.
 */
export function splitEarlyMessages(
  messages: readonly Message[],
  termOrVoteChanged: boolean,
): { early: Message[]; late: Message[] } {
  const early: Message[] = [];
  const late: Message[] = [];
  for (const m of messages) {
    if (!termOrVoteChanged && EARLY_MESSAGE_TYPES.has(m.type)) {
      early.push(m);
    } else {
      late.push(m);
    }
  }
  return { early, late };
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.leader === b.leader && a.role === b.role;
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export class RawNode {
  private readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  /** The Ready handed out and not yet advanced, if any. */
  private outstanding: Ready | null = null;

  constructor(config: RaftConfig) {
    validateConfig(config);
    this.raft = new Raft(config);
    // The initial state came from storage: nothing to report in the first Ready.
    this.prevSoftState = this.raft.softState();
    this.prevHardState = this.raft.hardState();
  }

  /** Advances logical time by one tick (election and heartbeat timers). */
  tick(): void {
    this.raft.tick();
  }

  /**
   * Feeds a message received from a peer. Malformed, misaddressed, local-only
   * or non-member messages are ignored, as are stale ones.
   */
  step(m: Message): void {
    if (!isAcceptablePeerMessage(m, this.raft.id)) {
      return;
    }
    this.raft.step(m);
  }

  /** Appends (leader) or forwards (follower) a proposal. ok is not a promise of commit. */
  propose(data: Uint8Array): ProposeResult {
    return propose(this.raft, data, "normal");
  }

  /**
   * Appends (leader) or forwards (follower) several normal proposals as one
   * batch: one MsgApp per follower carries them all. All or none are taken.
   */
  proposeBatch(data: readonly Uint8Array[]): ProposeResult {
    assert(data.length > 0, "proposeBatch() of nothing");
    return proposeBatch(this.raft, data);
  }

  /**
   * Proposes a configuration change; `data` is the shell's encoding of it. The
   * leader refuses while an earlier change is not yet applied or before it has
   * committed an entry of its term. The change takes effect when the shell,
   * applying the committed entry, calls applyConfChange.
   */
  proposeConfChange(data: Uint8Array): ProposeResult {
    return propose(this.raft, data, "conf-change");
  }

  /** Applies a committed configuration change; returns the configuration now in force. */
  applyConfChange(change: ConfChange): ConfState {
    return this.raft.applyConfChange(change);
  }

  /** The shell finished (ok) or gave up on sending a snapshot to `id`. */
  reportSnapshot(id: NodeId, ok: boolean): void {
    reportSnapshot(this.raft, id, ok);
  }

  /** Starts an election now (with pre-vote when configured). */
  campaign(): void {
    campaign(this.raft, "campaign requested");
  }

  /**
   * Requests a linearizable read point. The answer arrives as a ReadState with
   * the same context in a later Ready; requests lost to leader changes get no
   * answer, so the shell must time out and retry.
   */
  readIndex(context: Uint8Array): ProposeResult {
    return readIndex(this.raft, context);
  }

  transferLeader(target: NodeId): void {
    transferLeader(this.raft, target);
  }

  /** The transport could not deliver to `id`: stop streaming to it optimistically. */
  reportUnreachable(id: NodeId): void {
    reportUnreachable(this.raft, id);
  }

  /** True if ready() has work. False while a Ready is outstanding (before advance). */
  hasReady(): boolean {
    if (this.outstanding !== null) {
      return false;
    }
    const r = this.raft;
    return (
      !sameSoftState(r.softState(), this.prevSoftState) ||
      !sameHardState(r.hardState(), this.prevHardState) ||
      r.msgs.length > 0 ||
      r.readStates.length > 0 ||
      (r.role === "leader" && r.readBroadcastPending) ||
      r.log.hasNextUnstableEntries() ||
      r.log.nextUnstableSnapshot() !== null ||
      r.log.hasNextCommittedEntries()
    );
  }

  ready(): Ready {
    assert(this.outstanding === null, "ready() called again before advance()");
    const r = this.raft;
    r.beforeReady();
    const softState = r.softState();
    const hardState = r.hardState();
    const entries = r.log.nextUnstableEntries();
    const snapshot = r.log.nextUnstableSnapshot();
    const committedEntries = r.log.nextCommittedEntries(COMMITTED_BYTES_PER_READY_MAX);
    const prevHard = this.prevHardState;
    const termOrVoteChanged = hardState.term !== prevHard.term || hardState.vote !== prevHard.vote;
    const { early, late } = splitEarlyMessages(r.msgs, termOrVoteChanged);
    const rd: Ready = {
      softState: sameSoftState(softState, this.prevSoftState) ? null : softState,
      hardState: sameHardState(hardState, prevHard) ? null : hardState,
      entries,
      snapshot,
      committedEntries,
      earlyMessages: early,
      messages: late,
      readStates: r.readStates,
      // A commit index can be re-learned after a crash; a term, vote or entry cannot.
      mustSync: entries.length > 0 || snapshot !== null || termOrVoteChanged,
    };
    this.prevSoftState = softState;
    this.prevHardState = hardState;
    r.msgs = [];
    r.readStates = [];
    r.log.acceptUnstable();
    const lastCommitted = committedEntries[committedEntries.length - 1];
    if (lastCommitted !== undefined) {
      r.log.acceptApplying(lastCommitted.index);
    }
    this.outstanding = rd;
    return rd;
  }

  /** The shell finished the Ready: its entries are durable and its committed entries applied. */
  advance(rd: Ready): void {
    assert(this.outstanding !== null, "advance() without an outstanding ready()");
    assert(rd === this.outstanding, "advance() must get the Ready returned by ready()");
    this.outstanding = null;
    const r = this.raft;
    if (rd.snapshot !== null) {
      assert(
        r.log.storage.snapshot().meta.index >= rd.snapshot.meta.index,
        `advance() before Storage installed the snapshot at ${rd.snapshot.meta.index}`,
      );
      r.log.snapshotInstalled(rd.snapshot);
    }
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry !== undefined) {
      r.onEntriesStable(lastEntry.index, lastEntry.term);
    }
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastCommitted !== undefined) {
      r.log.appliedTo(lastCommitted.index);
    }
  }

  /** The status without per-peer progress: cheap enough to read on every loop turn. */
  basicStatus(): BasicStatus {
    const r = this.raft;
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.log.committed,
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      lastTerm: r.log.lastTerm(),
      role: r.role,
      leader: r.lead,
      leadTransferee: r.leadTransferee,
      electionElapsedTicks: r.electionElapsed,
    };
  }

  status(): RaftStatus {
    const r = this.raft;
    const progress = new Map<NodeId, PeerStatus>();
    if (r.role === "leader") {
      for (const id of r.tracker.members) {
        const pr = r.tracker.get(id);
        if (id === r.id || pr === undefined) {
          continue;
        }
        progress.set(id, {
          id,
          match: pr.match,
          next: pr.next,
          state: pr.state,
          recentActive: pr.recentActive,
          ticksSinceHeardFrom: pr.ticksSinceHeardFrom,
          inflightMessages: pr.inflights.count,
        });
      }
    }
    return { ...this.basicStatus(), progress };
  }
}
