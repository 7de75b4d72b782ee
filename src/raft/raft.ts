// The Raft protocol state of one node: term, vote, role, log and progress, the
// role transitions, the tick-driven timers and the term rules every message
// passes before role-specific handling (step-leader.ts, step-follower.ts).

import { assert, assertNever } from "../util/assert.js";
import { type ConfChange, nextConfState } from "./conf-change.js";
import type { RaftConfig, RaftLogger } from "./config.js";
import { handleVoteRequest, hup, isTransferContext } from "./election.js";
import { RaftLog } from "./log.js";
import { flushReadIndexBroadcast, type PendingRead } from "./read-index.js";
import { ReadOnlyQueue } from "./read-only.js";
import { bcastAppend, bcastHeartbeat, maybeCommit, onCommitAdvanced } from "./replication.js";
import { stepCandidate, stepFollower } from "./step-follower.js";
import { stepLeader, stepLeaderTransfer } from "./step-leader.js";
import { ProgressTracker } from "./tracker.js";
import {
  type ConfState,
  type Entry,
  type EntryKind,
  emptyMessage,
  type HardState,
  type LogIndex,
  type Message,
  NO_NODE,
  type NodeId,
  type Rand,
  type ReadState,
  type Role,
  type SoftState,
  type Term,
} from "./types.js";

/** Fields of an outgoing message; `from` and (usually) `term` are filled in by send(). */
export type Outgoing = Partial<Omit<Message, "from">> & Pick<Message, "type" | "to">;

const VOTE_TYPES = new Set(["MsgVote", "MsgVoteResp", "MsgPreVote", "MsgPreVoteResp"]);

export class Raft {
  readonly id: NodeId;
  term: Term = 0;
  vote: NodeId = NO_NODE;
  lead: NodeId = NO_NODE;
  role: Role = "follower";
  readonly log: RaftLog;
  readonly tracker: ProgressTracker;
  readonly electionTimeout: number;
  readonly heartbeatTimeout: number;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly maxBytesPerMessage: number;
  /** Leader: ticks since the last check-quorum round. Others: since we heard from a leader. */
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  /**
   * Leader only: index of the last configuration change appended; no new one
   * is accepted until it is applied. A new leader starts at its last index,
   * which covers any change an earlier leader left unapplied.
   */
  pendingConfIndex: LogIndex = 0;
  /** Leader only: the peer we are handing leadership to, or NO_NODE. */
  leadTransferee: NodeId = NO_NODE;
  readOnly = new ReadOnlyQueue();
  /** Leader only: reads that arrived before an entry of this term was committed. */
  pendingReads: PendingRead[] = [];
  /** Leader only: reads were queued since the last heartbeat broadcast. */
  readBroadcastPending = false;
  /** Outgoing messages, handed to the shell in the next Ready. */
  msgs: Message[] = [];
  readStates: ReadState[] = [];
  private readonly rand: Rand;
  private readonly logger: RaftLogger | undefined;

  constructor(config: RaftConfig) {
    this.id = config.id;
    this.electionTimeout = config.electionTicks;
    this.heartbeatTimeout = config.heartbeatTicks;
    this.checkQuorum = config.checkQuorum;
    this.preVote = config.preVote;
    this.maxBytesPerMessage = config.maxBytesPerMessage;
    this.rand = config.rand;
    this.logger = config.logger;
    const { hardState, confState } = config.storage.initialState();
    // A node outside its configuration (joining, or a learner) never campaigns
    // (see promotable) but follows whichever leader contacts it.
    this.tracker = new ProgressTracker(confState, config.maxInflightMessages);
    this.log = new RaftLog(config.storage);
    this.loadHardState(hardState);
    if (config.applied > 0) {
      this.log.appliedTo(config.applied);
    }
    this.becomeFollower(this.term, NO_NODE, "start");
  }

  private loadHardState(hardState: HardState): void {
    const lastIndex = this.log.lastIndex();
    assert(
      hardState.commit <= lastIndex,
      `stored commit ${hardState.commit} beyond last index ${lastIndex}: log lost or corrupted`,
    );
    this.log.commitTo(hardState.commit);
    this.term = hardState.term;
    this.vote = hardState.vote;
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  softState(): SoftState {
    return { leader: this.lead, role: this.role };
  }

  event(name: string, fields: Readonly<Record<string, unknown>>): void {
    this.logger?.event(name, { id: this.id, ...fields });
  }

  /** Queues a message for the next Ready (leaving before or after its persist: raw-node.ts). */
  send(out: Outgoing): void {
    assert(out.to !== this.id && out.to !== NO_NODE, `bad recipient ${out.to} for ${out.type}`);
    let term: Term;
    if (VOTE_TYPES.has(out.type)) {
      // Vote traffic carries the term it is about, which may differ from ours (pre-vote).
      assert(out.term !== undefined && out.term > 0, `${out.type} needs an explicit term`);
      term = out.term;
    } else {
      assert(out.term === undefined, `${out.type} must not set a term`);
      // Proposals and reads forwarded to the leader are term-less, like local requests.
      term = out.type === "MsgProp" || out.type === "MsgReadIndex" ? 0 : this.term;
    }
    this.msgs.push({ ...emptyMessage(out.type, this.id, out.to, term), ...out, term });
  }

  // ---- role transitions -------------------------------------------------

  private reset(term: Term): void {
    if (this.term !== term) {
      assert(term > this.term, `term went backwards from ${this.term} to ${term}`);
      this.term = term;
      this.vote = NO_NODE;
    }
    this.lead = NO_NODE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.electionTimeout + this.rand.nextInt(this.electionTimeout);
    assert(
      this.randomizedElectionTimeout >= this.electionTimeout &&
        this.randomizedElectionTimeout < 2 * this.electionTimeout,
      `rand gave election timeout ${this.randomizedElectionTimeout} outside [T, 2T)`,
    );
    this.leadTransferee = NO_NODE;
    this.tracker.resetVotes();
    // Our own match counts only what is durable: the leader acknowledges itself on advance.
    this.tracker.resetProgress(this.log.lastIndex(), this.id, this.log.stableLastIndex());
    this.readOnly = new ReadOnlyQueue();
    this.pendingReads = [];
    this.readBroadcastPending = false;
  }

  becomeFollower(term: Term, lead: NodeId, reason: string): void {
    this.reset(term);
    this.role = "follower";
    this.lead = lead;
    this.event("became-follower", { term, leader: lead, reason });
  }

  becomePreCandidate(reason: string): void {
    assert(this.role !== "leader", "invalid transition leader -> pre-candidate");
    // Pre-candidacy changes neither term nor vote: that is its whole point.
    this.tracker.resetVotes();
    this.lead = NO_NODE;
    this.role = "pre-candidate";
    this.event("became-pre-candidate", { term: this.term, reason });
  }

  becomeCandidate(reason: string): void {
    assert(this.role !== "leader", "invalid transition leader -> candidate");
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = "candidate";
    this.event("became-candidate", { term: this.term, reason });
  }

  becomeLeader(reason: string): void {
    assert(this.role === "candidate", `invalid transition ${this.role} -> leader`);
    this.reset(this.term);
    this.lead = this.id;
    this.role = "leader";
    const self = this.tracker.get(this.id);
    assert(self !== undefined, "leader has no progress for itself");
    self.becomeReplicate();
    self.recentActive = true;
    this.pendingConfIndex = this.log.lastIndex();
    // §5.4.2: entries of earlier terms commit only once an entry of ours does.
    this.appendEntries([{ kind: "normal", data: new Uint8Array(0) }]);
    this.event("became-leader", { term: this.term, leader: this.id, reason });
  }

  /** Leader: stamps new entries with our term and the next indexes, appends them. */
  appendEntries(proposals: readonly { kind: EntryKind; data: Uint8Array }[]): void {
    assert(this.role === "leader", "only the leader appends new entries");
    const lastIndex = this.log.lastIndex();
    const entries: Entry[] = proposals.map(({ kind, data }, i) => ({
      term: this.term,
      index: lastIndex + 1 + i,
      kind,
      data,
    }));
    const newLast = this.log.append(entries);
    assert(newLast === lastIndex + proposals.length, "leader append did not extend the log");
  }

  /**
   * Applies a committed configuration change (the shell calls this while
   * applying the entry). A leader that removed itself steps down at once.
   */
  applyConfChange(change: ConfChange): ConfState {
    const next = nextConfState(this.tracker.confState(), change);
    const before = new Set(this.tracker.members);
    this.tracker.setConf(next, this.log.lastIndex());
    this.event("conf-change-applied", {
      term: this.term,
      change: change.type,
      node: change.nodeId,
      voters: next.voters,
      learners: next.learners,
    });
    if (this.role !== "leader") {
      return next;
    }
    for (const id of this.tracker.members) {
      // A new member gets one check-quorum round before it must have answered.
      const pr = this.tracker.get(id);
      if (!before.has(id) && pr !== undefined) pr.recentActive = true;
    }
    if (this.leadTransferee !== NO_NODE && !this.tracker.isVoter(this.leadTransferee)) {
      this.event("leader-transfer-aborted", { term: this.term, to: this.leadTransferee });
      this.leadTransferee = NO_NODE;
    }
    if (!this.tracker.isVoter(this.id)) {
      this.handOffAfterRemoval();
    }
    // Fewer voters may mean a smaller quorum that already holds more entries.
    if (maybeCommit(this)) {
      onCommitAdvanced(this);
    } else {
      bcastAppend(this);
    }
    return next;
  }

  /**
   * A leader that applied its own removal keeps leading only to hand over:
   * stepping down at once could leave the remaining voters unaware that the
   * change (and entries after it) committed, and with pre-vote they could
   * then never elect anyone (the removed member's longer log refuses their
   * votes). So it refuses new proposals, catches the most up-to-date voter up
   * and tells it to campaign (MsgTimeoutNow), retrying each election timeout.
   */
  private handOffAfterRemoval(): void {
    let target: NodeId = NO_NODE;
    let best = -1;
    for (const id of this.tracker.voters) {
      const match = this.tracker.get(id)?.match ?? 0;
      if (id !== this.id && match > best) {
        best = match;
        target = id;
      }
    }
    if (target === NO_NODE) return;
    this.event("removed-leader-hands-off", { term: this.term, to: target });
    stepLeaderTransfer(this, target);
  }

  promotable(): boolean {
    return this.tracker.isVoter(this.id);
  }

  committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  // ---- timers -----------------------------------------------------------

  tick(): void {
    switch (this.role) {
      case "follower":
      case "pre-candidate":
      case "candidate":
        this.tickElection();
        return;
      case "leader":
        this.tickHeartbeat();
        return;
      default:
        assertNever(this.role, "role");
    }
  }

  private tickElection(): void {
    this.electionElapsed += 1;
    if (!this.promotable() || this.electionElapsed < this.randomizedElectionTimeout) {
      return;
    }
    const waited = this.electionElapsed;
    this.electionElapsed = 0;
    const reason =
      this.role === "follower"
        ? `election timeout, leader silent for ${waited} ticks`
        : `election timeout, no decision within ${waited} ticks`;
    hup(this, this.preVote ? "pre-election" : "election", reason);
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed += 1;
    this.electionElapsed += 1;
    for (const [id, pr] of this.tracker.progress) {
      if (id !== this.id) {
        pr.ticksSinceHeardFrom += 1;
      }
    }
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) {
        this.checkQuorumRound();
      }
      if (this.role === "leader" && this.leadTransferee !== NO_NODE) {
        this.event("leader-transfer-aborted", { term: this.term, to: this.leadTransferee });
        this.leadTransferee = NO_NODE;
        if (!this.tracker.isVoter(this.id)) this.handOffAfterRemoval();
      }
    }
    if (this.role !== "leader") {
      return;
    }
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      bcastHeartbeat(this);
    }
  }

  /** Leader: step down unless a quorum was heard from during the last election timeout. */
  private checkQuorumRound(): void {
    const active = this.tracker.activeVoterCount(this.id);
    if (!this.tracker.quorumActive(this.id)) {
      const reason = `check-quorum: heard from only ${active} of ${this.tracker.voters.length}`;
      this.event("step-down", { term: this.term, reason });
      this.becomeFollower(this.term, NO_NODE, reason);
      return;
    }
    for (const [id, pr] of this.tracker.progress) {
      if (id !== this.id) {
        pr.recentActive = false;
      }
    }
  }

  // ---- shell feedback -------------------------------------------------------

  /** The shell made entries up to (index, term) durable. */
  onEntriesStable(index: LogIndex, term: Term): void {
    this.log.stableTo(index, term);
    if (this.role !== "leader" || !this.log.matchTerm(index, term)) {
      return;
    }
    const self = this.tracker.get(this.id);
    if (self === undefined) {
      // A leader that applied its own removal is handing over: its copy counts
      // toward no quorum any more.
      assert(!this.tracker.isMember(this.id), "a member leader has no progress for itself");
      return;
    }
    if (self.maybeUpdate(index) && maybeCommit(this)) {
      onCommitAdvanced(this);
    }
  }

  /** Called when the shell is about to take a Ready: batch pending work into messages. */
  beforeReady(): void {
    flushReadIndexBroadcast(this);
  }

  // ---- message handling -----------------------------------------------------

  step(m: Message): void {
    if (m.type === "MsgProp" || m.type === "MsgReadIndex") {
      // Forwarded requests are term-less: they are addressed to whoever leads now.
      this.stepByRole(m);
      return;
    }
    if (m.term > this.term) {
      if (!this.stepHigherTerm(m)) {
        return;
      }
    } else if (m.term < this.term) {
      this.stepLowerTerm(m);
      return;
    }
    if (m.type === "MsgVote" || m.type === "MsgPreVote") {
      handleVoteRequest(this, m);
      return;
    }
    this.stepByRole(m);
  }

  private stepByRole(m: Message): void {
    switch (this.role) {
      case "leader":
        stepLeader(this, m);
        return;
      case "pre-candidate":
      case "candidate":
        stepCandidate(this, m);
        return;
      case "follower":
        stepFollower(this, m);
        return;
      default:
        assertNever(this.role, "role");
    }
  }

  /** Returns false if the message must be ignored. */
  private stepHigherTerm(m: Message): boolean {
    if (m.type === "MsgVote" || m.type === "MsgPreVote") {
      // Within a leader's lease we neither bump our term nor vote: this keeps a
      // node that was partitioned away from disrupting a healthy leader.
      const inLease =
        this.checkQuorum && this.lead !== NO_NODE && this.electionElapsed < this.electionTimeout;
      if (inLease && !isTransferContext(m.context)) {
        this.event("vote-ignored-in-lease", { term: this.term, from: m.from, type: m.type });
        return false;
      }
      if (m.type === "MsgPreVote") {
        return true; // Never change our term for a pre-vote.
      }
    }
    if (m.type === "MsgPreVoteResp" && !m.reject) {
      // A granted pre-vote carries the term we are about to campaign for.
      return true;
    }
    this.event("higher-term", { term: this.term, newTerm: m.term, from: m.from, type: m.type });
    const fromLeader = m.type === "MsgApp" || m.type === "MsgHeartbeat" || m.type === "MsgSnap";
    this.becomeFollower(
      m.term,
      fromLeader ? m.from : NO_NODE,
      `higher term ${m.term} from ${m.from} (${m.type})`,
    );
    return true;
  }

  private stepLowerTerm(m: Message): void {
    if ((this.checkQuorum || this.preVote) && (m.type === "MsgApp" || m.type === "MsgHeartbeat")) {
      // A stale leader would otherwise never learn our term: with pre-vote and
      // check-quorum our votes don't reach it. Any reply carries our term.
      this.send({ type: "MsgAppResp", to: m.from });
    } else if (m.type === "MsgPreVote") {
      // Reject explicitly so the pre-candidate learns the newer term.
      this.send({ type: "MsgPreVoteResp", to: m.from, term: this.term, reject: true });
    }
  }
}
