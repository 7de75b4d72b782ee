// Leader election (§5.2, §5.4.1) with the pre-vote extension (thesis §9.6):
// starting a campaign, deciding whether to grant a vote, and counting answers.

import type { Raft } from "./raft.js";
import { bcastAppend } from "./replication.js";
import { type Message, NO_NODE } from "./types.js";

/**
 * pre-election: poll at term+1 without bumping our term (pre-vote).
 * election: a real election at term+1.
 * transfer: a real election ordered by the leader (MsgTimeoutNow); voters
 * skip their leader lease for it because the old leader asked for it.
 */
export type CampaignKind = "pre-election" | "election" | "transfer";

const TRANSFER_CONTEXT = new TextEncoder().encode("CampaignTransfer");

export function isTransferContext(context: Uint8Array): boolean {
  if (context.byteLength !== TRANSFER_CONTEXT.byteLength) {
    return false;
  }
  return context.every((byte, i) => byte === TRANSFER_CONTEXT[i]);
}

/** Starts an election unless we are leader already. */
export function hup(r: Raft, kind: CampaignKind, reason: string): void {
  if (r.role === "leader" || !r.promotable()) {
    return;
  }
  r.event("election-start", { term: r.term, reason, kind });
  campaign(r, kind, reason);
}

function campaign(r: Raft, kind: CampaignKind, reason: string): void {
  let term: number;
  let voteType: "MsgVote" | "MsgPreVote";
  if (kind === "pre-election") {
    r.becomePreCandidate(reason);
    voteType = "MsgPreVote";
    term = r.term + 1; // The term we would campaign for; ours stays put.
  } else {
    r.becomeCandidate(reason);
    voteType = "MsgVote";
    term = r.term;
  }
  // Our own vote is in the hard state of the next Ready, persisted before any
  // MsgVote leaves, so it can be counted right away.
  r.tracker.recordVote(r.id, true);
  if (r.tracker.tallyVotes().result === "won") {
    // Single voter: no one to ask.
    if (kind === "pre-election") {
      campaign(r, "election", "pre-vote won (single voter)");
    } else {
      winElection(r, "single voter");
    }
    return;
  }
  const lastIndex = r.log.lastIndex();
  const lastTerm = r.log.lastTerm();
  const context = kind === "transfer" ? TRANSFER_CONTEXT : new Uint8Array(0);
  for (const id of r.tracker.voters) {
    if (id !== r.id) {
      r.send({ type: voteType, to: id, term, index: lastIndex, logTerm: lastTerm, context });
    }
  }
}

function winElection(r: Raft, reason: string): void {
  r.becomeLeader(reason);
  bcastAppend(r);
}

/** MsgVote / MsgPreVote whose term is >= ours (term rules already applied). */
export function handleVoteRequest(r: Raft, m: Message): void {
  const canVote =
    // A repeat of a vote we already cast...
    r.vote === m.from ||
    // ...or we have not voted and know of no leader in this term...
    (r.vote === NO_NODE && r.lead === NO_NODE) ||
    // ...or a pre-vote for a future term (it binds us to nothing).
    (m.type === "MsgPreVote" && m.term > r.term);
  const responseType = m.type === "MsgVote" ? "MsgVoteResp" : "MsgPreVoteResp";
  if (canVote && r.log.isUpToDate(m.index, m.logTerm)) {
    // Answer with the request's term: for a pre-vote ours is older, and the
    // pre-candidate ignores messages from older terms.
    r.send({ type: responseType, to: m.from, term: m.term });
    if (m.type === "MsgVote") {
      r.electionElapsed = 0;
      r.vote = m.from;
    }
    return;
  }
  r.send({ type: responseType, to: m.from, term: r.term, reject: true });
}

/** A candidate or pre-candidate counts an answer to its own request. */
export function handleVoteResponse(r: Raft, m: Message): void {
  r.tracker.recordVote(m.from, !m.reject);
  const { granted, rejected, result } = r.tracker.tallyVotes();
  const voterCount = r.tracker.voters.length;
  switch (result) {
    case "won":
      if (r.role === "pre-candidate") {
        campaign(r, "election", `pre-vote won with ${granted} of ${voterCount}`);
      } else {
        winElection(r, `won election with ${granted} of ${voterCount} votes`);
      }
      return;
    case "lost":
      // A rejected pre-vote leaves our term unchanged; a rejected vote was at our term.
      r.becomeFollower(r.term, NO_NODE, `lost election: ${rejected} of ${voterCount} rejected`);
      return;
    case "pending":
      return;
  }
}
