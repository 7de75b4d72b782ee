// Message handling while follower, pre-candidate or candidate: accepting
// entries from the leader (§5.3 consistency check with a conflict hint),
// heartbeats, vote answers, read answers and the leader's MsgTimeoutNow.

import { handleVoteResponse, hup } from "./election.js";
import type { Raft } from "./raft.js";
import type { Message } from "./types.js";

export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case "MsgApp":
      r.electionElapsed = 0;
      r.lead = m.from;
      handleAppendEntries(r, m);
      return;
    case "MsgHeartbeat":
      r.electionElapsed = 0;
      r.lead = m.from;
      handleHeartbeat(r, m);
      return;
    case "MsgSnap":
      r.electionElapsed = 0;
      r.lead = m.from;
      handleSnapshot(r, m);
      return;
    case "MsgTimeoutNow":
      // The leader hands over: skip pre-vote, we know the leader is gone on purpose.
      hup(r, "transfer", "timeout-now");
      return;
    case "MsgReadIndexResp":
      if (m.from === r.lead) {
        r.readStates.push({ index: m.index, requestContext: m.context });
      }
      return;
    default:
      // Proposals, reads and transfer requests from peers are not re-forwarded:
      // the sender's idea of the leader is stale, and forwarding could loop.
      return;
  }
}

/** Shared by pre-candidate and candidate; they differ only in which answers count. */
export function stepCandidate(r: Raft, m: Message): void {
  const ourResponseType = r.role === "pre-candidate" ? "MsgPreVoteResp" : "MsgVoteResp";
  switch (m.type) {
    case "MsgApp":
      // A leader exists in our term (term rules made m.term === r.term).
      r.becomeFollower(m.term, m.from, `leader ${m.from} appeared at term ${m.term}`);
      handleAppendEntries(r, m);
      return;
    case "MsgHeartbeat":
      r.becomeFollower(m.term, m.from, `leader ${m.from} appeared at term ${m.term}`);
      handleHeartbeat(r, m);
      return;
    case "MsgSnap":
      r.becomeFollower(m.term, m.from, `leader ${m.from} appeared at term ${m.term}`);
      handleSnapshot(r, m);
      return;
    case "MsgVoteResp":
    case "MsgPreVoteResp":
      // While candidate we may still get pre-vote answers from our pre-candidacy.
      if (m.type === ourResponseType) {
        handleVoteResponse(r, m);
      }
      return;
    default:
      return;
  }
}

function handleAppendEntries(r: Raft, m: Message): void {
  if (m.index < r.log.committed) {
    // Everything up to our commit index matches any leader's log: say so.
    r.send({ type: "MsgAppResp", to: m.from, index: r.log.committed });
    return;
  }
  const lastNewIndex = r.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (lastNewIndex !== undefined) {
    r.send({ type: "MsgAppResp", to: m.from, index: lastNewIndex });
    return;
  }
  // Our log lacks (m.index, m.logTerm). Hint the largest (index, term) at or
  // below m.index whose term is <= m.logTerm: nothing above it can match, so
  // the leader can skip our whole divergent tail in one round trip.
  const hint = r.log.findConflictByTerm(Math.min(m.index, r.log.lastIndex()), m.logTerm);
  r.send({
    type: "MsgAppResp",
    to: m.from,
    index: m.index,
    reject: true,
    rejectHint: hint.index,
    logTerm: hint.term,
  });
}

/**
 * The leader's snapshot replaces our log when it is ahead of everything we
 * know is committed. The answer (like a MsgAppResp for entries) leaves only
 * after the Ready carrying the snapshot has been installed.
 */
function handleSnapshot(r: Raft, m: Message): void {
  const snapshot = m.snapshot;
  if (snapshot === null) {
    return;
  }
  const { index, term, confState } = snapshot.meta;
  if (index <= r.log.committed) {
    r.event("snapshot-ignored", { term: r.term, index, committed: r.log.committed });
    r.send({ type: "MsgAppResp", to: m.from, index: r.log.committed });
    return;
  }
  if (r.log.matchTerm(index, term)) {
    // We hold the entry the snapshot ends at, so our log agrees up to it:
    // just commit up to there and keep the rest of the log.
    r.event("snapshot-fast-forward", { term: r.term, index });
    r.log.commitTo(index);
    r.send({ type: "MsgAppResp", to: m.from, index: r.log.committed });
    return;
  }
  if (!confState.voters.includes(r.id) && !confState.learners.includes(r.id)) {
    // Not meant for a member of that configuration: installing it would
    // leave us following a configuration that excludes us. Ignore it.
    r.event("snapshot-excludes-us", { term: r.term, index, voters: confState.voters });
    return;
  }
  r.event("snapshot-restore", { term: r.term, index, snapshotTerm: term });
  r.log.restore(snapshot);
  r.tracker.setConf(confState, r.log.lastIndex());
  r.send({ type: "MsgAppResp", to: m.from, index: r.log.lastIndex() });
}

function handleHeartbeat(r: Raft, m: Message): void {
  const lastIndex = r.log.lastIndex();
  if (m.commit > lastIndex) {
    // The leader caps the commit it sends us at what we acknowledged: we
    // hold less than that, so our log was lost (a wiped data dir). Committing
    // is impossible; tell the leader where our log ends so it probes from there.
    r.event("heartbeat-commit-beyond-log", { term: r.term, commit: m.commit, lastIndex });
    r.send({
      type: "MsgAppResp",
      to: m.from,
      index: m.commit,
      reject: true,
      rejectHint: lastIndex,
      logTerm: r.log.lastTerm(),
    });
  } else {
    r.log.commitTo(m.commit);
  }
  r.send({ type: "MsgHeartbeatResp", to: m.from, context: m.context });
}
