// Leader-side log replication (§5.3): building MsgApp/heartbeats per follower
// progress, handling their answers (with fast backtracking on rejection) and
// advancing the commit index by counting replicas of current-term entries.

import { assert } from "../util/assert.js";
import type { Progress } from "./progress.js";
import type { Raft } from "./raft.js";
import { releasePendingReads, respondToRead } from "./read-index.js";
import { decodePosition } from "./read-only.js";
import type { Message, NodeId } from "./types.js";

/**
 * Sends the follower the entries it is missing (or an empty MsgApp carrying the
 * commit index when `sendIfEmpty`). Returns true if a message was sent.
 */
export function sendAppend(r: Raft, to: NodeId, sendIfEmpty = true): boolean {
  const pr = r.tracker.get(to);
  assert(pr !== undefined, `no progress for ${to}`);
  if (pr.isPaused()) {
    return false;
  }
  const prevIndex = pr.next - 1;
  const prevTerm = r.log.term(prevIndex);
  if (prevTerm === undefined) {
    // The entries the follower needs were compacted: only a snapshot can help.
    return sendSnapshot(r, to, pr);
  }
  // With a full window only an empty MsgApp goes out, so that a follower whose
  // acknowledgements were all lost can still answer and unblock the window.
  const entries =
    pr.state !== "replicate" || !pr.inflights.full()
      ? r.log.entriesFrom(pr.next, r.maxBytesPerMessage)
      : [];
  if (entries.length === 0 && !sendIfEmpty) {
    return false;
  }
  const commit = r.log.committed;
  r.send({ type: "MsgApp", to, index: prevIndex, logTerm: prevTerm, entries, commit });
  pr.sentEntries(entries.length);
  pr.sentCommitIndex(commit);
  return true;
}

/**
 * Sends the stored snapshot to a follower that needs compacted entries. Only
 * to peers heard from recently: a snapshot is big, and a dead peer would
 * just hold the slot. The peer stays paused until the shell reports back.
 */
function sendSnapshot(r: Raft, to: NodeId, pr: Progress): boolean {
  if (!pr.recentActive) {
    return false;
  }
  const snapshot = r.log.storage.snapshot();
  assert(snapshot.meta.index > 0, `log compacted below ${r.log.firstIndex()} without a snapshot`);
  r.event("snapshot-send", { term: r.term, to, index: snapshot.meta.index, next: pr.next });
  pr.becomeSnapshot(snapshot.meta.index);
  r.send({ type: "MsgSnap", to, snapshot });
  return true;
}

export function bcastAppend(r: Raft): void {
  for (const id of r.tracker.members) {
    if (id !== r.id) {
      sendAppend(r, id);
    }
  }
}

function sendHeartbeat(r: Raft, to: NodeId, context: Uint8Array): void {
  const pr = r.tracker.get(to);
  assert(pr !== undefined, `no progress for ${to}`);
  // Never tell a follower to commit past what we know it holds: its log may
  // still differ from ours beyond `match`.
  const commit = Math.min(pr.match, r.log.committed);
  r.send({ type: "MsgHeartbeat", to, commit, context });
  pr.sentCommitIndex(commit);
}

/** Heartbeats carry the newest pending read position, so they also confirm reads. */
export function bcastHeartbeat(r: Raft): void {
  const context = r.readOnly.heartbeatContext();
  for (const id of r.tracker.members) {
    if (id !== r.id) {
      sendHeartbeat(r, id, context);
    }
  }
}

/** Commits the quorum index if its entry is from our term (§5.4.2, Figure 8). */
export function maybeCommit(r: Raft): boolean {
  assert(r.role === "leader", "only the leader counts replicas");
  const before = r.log.committed;
  const advanced = r.log.maybeCommit(r.tracker.committed(), r.term);
  assert(r.log.committed >= before, "commit never decreases");
  return advanced;
}

export function onCommitAdvanced(r: Raft): void {
  // Reads held back until an entry of this term committed may proceed now.
  releasePendingReads(r);
  bcastAppend(r);
}

export function handleAppendResponse(r: Raft, m: Message, pr: Progress): void {
  pr.recentActive = true;
  pr.ticksSinceHeardFrom = 0;
  if (m.reject) {
    handleAppendRejection(r, m, pr);
    return;
  }
  const wasProbing = pr.state === "probe";
  // An answer matching what we already know still proves a probe landed.
  if (!pr.maybeUpdate(m.index) && !(pr.match === m.index && wasProbing)) {
    return;
  }
  if (pr.state === "probe") {
    pr.becomeReplicate();
  } else if (pr.state === "snapshot" && pr.match + 1 >= r.log.firstIndex()) {
    // The follower got the snapshot (or caught up otherwise): entries can follow.
    pr.becomeProbe();
    pr.becomeReplicate();
  } else if (pr.state === "replicate") {
    pr.inflights.freeLE(m.index);
  }
  if (maybeCommit(r)) {
    onCommitAdvanced(r);
  } else if (pr.canBumpCommit(r.log.committed)) {
    // The follower may lack the latest commit index; don't wait for a heartbeat.
    sendAppend(r, m.from);
  }
  // The window may have room for several messages now.
  for (let sent = 0; sent < r.tracker.maxInflightMessages; sent++) {
    if (!sendAppend(r, m.from, false)) {
      break;
    }
  }
  if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) {
    sendTimeoutNow(r, m.from);
  }
}

function handleAppendRejection(r: Raft, m: Message, pr: Progress): void {
  if (m.rejectHint < pr.match) {
    // The follower holds less than it once acknowledged: its data dir was
    // wiped (or an old rejection arrived late). Trust the hint: probing from
    // there costs at most a resend, while waiting at `match` would never end.
    r.event("follower-log-shorter-than-match", {
      term: r.term,
      from: m.from,
      match: pr.match,
      hint: m.rejectHint,
    });
    pr.resetMatch(m.rejectHint);
    sendAppend(r, m.from);
    return;
  }
  // The follower told us the largest (rejectHint, logTerm) it might share with
  // us. Every index of ours whose term is > logTerm is certain to mismatch, so
  // jump below them: at most one probe per term of our log (etcd's scheme).
  let nextProbeIndex = m.rejectHint;
  if (m.logTerm > 0) {
    nextProbeIndex = r.log.findConflictByTerm(m.rejectHint, m.logTerm).index;
  }
  if (!pr.maybeDecrTo(m.index, nextProbeIndex)) {
    return; // Stale rejection.
  }
  if (pr.state === "replicate") {
    pr.becomeProbe();
  }
  sendAppend(r, m.from);
}

export function handleHeartbeatResponse(r: Raft, m: Message, pr: Progress): void {
  pr.recentActive = true;
  pr.ticksSinceHeardFrom = 0;
  // The follower is alive: let one MsgApp through even if we were waiting, in
  // case the messages we are waiting on were lost.
  pr.msgAppFlowPaused = false;
  if (pr.match < r.log.lastIndex() || pr.state === "probe") {
    sendAppend(r, m.from);
  }
  const position = decodePosition(m.context);
  if (position === undefined) {
    return;
  }
  r.readOnly.recvAck(m.from, position);
  for (const request of r.readOnly.maybeAdvance(r.tracker.voters)) {
    respondToRead(r, request);
  }
}

export function sendTimeoutNow(r: Raft, to: NodeId): void {
  r.event("leader-transfer-timeout-now", { term: r.term, to });
  r.send({ type: "MsgTimeoutNow", to });
}
