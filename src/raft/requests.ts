// Requests from the local shell: campaigning, proposals, reads, leadership
// transfer and unreachability reports. A follower forwards proposals and
// reads to its leader; candidates refuse them (there is no one to forward to).

import { assertNever } from "../util/assert.js";
import type { ProposeRejectReason, ProposeResult } from "./config.js";
import { UNCOMMITTED_ENTRIES_MAX } from "./config.js";
import { hup } from "./election.js";
import type { Raft } from "./raft.js";
import { leaderReadIndex } from "./read-index.js";
import { bcastAppend } from "./replication.js";
import { stepLeaderTransfer } from "./step-leader.js";
import { type Entry, type EntryKind, NO_NODE, type NodeId } from "./types.js";

export function campaign(r: Raft, reason: string): void {
  hup(r, r.preVote ? "pre-election" : "election", reason);
}

/** A proposal: what a follower forwards and the leader appends. */
export interface Proposal {
  readonly kind: EntryKind;
  readonly data: Uint8Array;
}

function proposalEntry(proposal: Proposal): Entry {
  // The leader stamps term and index when it appends.
  return { term: 0, index: 0, kind: proposal.kind, data: proposal.data };
}

export function propose(r: Raft, data: Uint8Array, kind: EntryKind): ProposeResult {
  if (r.role === "leader" && kind === "conf-change") {
    const refusal = confChangeRefusal(r);
    if (refusal !== null) return { ok: false, reason: refusal };
  }
  return route(r, [{ kind, data }]);
}

/**
 * Normal entries proposed together: a leader appends them at once, so they
 * leave in one MsgApp per follower (as a forwarded MsgProp's entries do)
 * rather than one each; a follower forwards them in one MsgProp.
 */
export function proposeBatch(r: Raft, data: readonly Uint8Array[]): ProposeResult {
  return route(
    r,
    data.map((d): Proposal => ({ kind: "normal", data: d })),
  );
}

/** A leader appends the proposals; a follower forwards them to its leader in one MsgProp. */
function route(r: Raft, proposals: readonly Proposal[]): ProposeResult {
  switch (r.role) {
    case "leader":
      return proposeAsLeader(r, proposals);
    case "follower":
      if (r.lead === NO_NODE) {
        return { ok: false, reason: "no-leader" };
      }
      r.send({ type: "MsgProp", to: r.lead, entries: proposals.map(proposalEntry) });
      return { ok: true };
    case "pre-candidate":
    case "candidate":
      return { ok: false, reason: "no-leader" };
    default:
      return assertNever(r.role, "role");
  }
}

/**
 * Why the leader must refuse a configuration change now, or null. One change
 * at a time (the previous one applied), and only after an entry of this term
 * committed: Ongaro's fix for single-server changes over diverged logs.
 */
export function confChangeRefusal(r: Raft): ProposeRejectReason | null {
  if (r.pendingConfIndex > r.log.applied) return "conf-change-pending";
  if (!r.committedEntryInCurrentTerm()) return "conf-change-pending";
  return null;
}

/**
 * Leader: appends proposals. A configuration change that must be refused
 * (forwarded by a follower that could not know) becomes an empty entry, as in
 * etcd-io/raft, so the batch keeps its shape; its proposer times out.
 */
export function proposeAsLeader(r: Raft, proposals: readonly Proposal[]): ProposeResult {
  if (r.leadTransferee !== NO_NODE) {
    return { ok: false, reason: "transferring-leadership" };
  }
  if (r.log.lastIndex() - r.log.committed >= UNCOMMITTED_ENTRIES_MAX) {
    return { ok: false, reason: "too-many-uncommitted" };
  }
  const accepted = proposals.map((proposal, i): Proposal => {
    if (proposal.kind !== "conf-change") return proposal;
    if (confChangeRefusal(r) !== null) {
      r.event("conf-change-refused", { term: r.term, pendingConfIndex: r.pendingConfIndex });
      return { kind: "normal", data: new Uint8Array(0) };
    }
    r.pendingConfIndex = r.log.lastIndex() + 1 + i;
    return proposal;
  });
  r.appendEntries(accepted);
  bcastAppend(r);
  return { ok: true };
}

export function readIndex(r: Raft, context: Uint8Array): ProposeResult {
  if (r.role === "leader") {
    return leaderReadIndex(r, { from: r.id, context });
  }
  if (r.role !== "follower" || r.lead === NO_NODE) {
    return { ok: false, reason: "no-leader" };
  }
  r.send({ type: "MsgReadIndex", to: r.lead, context });
  return { ok: true };
}

/**
 * Leader: starts handing leadership to `target`. Follower: asks its leader for
 * leadership, but only for itself. etcd forwards any target with `from` set
 * to the transferee, a message the transferee never sent; cairn's transport
 * authenticates `from` as the sending peer, so only the transferee asks.
 */
export function transferLeader(r: Raft, target: NodeId): void {
  if (r.role === "leader") {
    stepLeaderTransfer(r, target);
  } else if (r.role === "follower" && r.lead !== NO_NODE && target === r.id) {
    r.send({ type: "MsgTransferLeader", to: r.lead });
  } else {
    r.event("leader-transfer-ignored", { term: r.term, to: target, role: r.role, leader: r.lead });
  }
}

/** The shell's outcome of sending a snapshot: either way, probe again from what the peer holds. */
export function reportSnapshot(r: Raft, id: NodeId, ok: boolean): void {
  const pr = r.tracker.get(id);
  if (r.role !== "leader" || pr === undefined || pr.state !== "snapshot") {
    return;
  }
  r.event("snapshot-status", { term: r.term, to: id, ok, pendingSnapshot: pr.pendingSnapshot });
  if (!ok) {
    pr.pendingSnapshot = 0; // Nothing was installed: don't assume anything up to it.
  }
  pr.becomeProbe();
  // Wait for the next heartbeat answer before probing (etcd does the same).
  pr.msgAppFlowPaused = true;
}

export function reportUnreachable(r: Raft, id: NodeId): void {
  const pr = r.tracker.get(id);
  // A MsgApp was probably lost: stop streaming optimistically and probe again.
  if (r.role === "leader" && pr !== undefined && pr.state === "replicate") {
    pr.becomeProbe();
  }
}
