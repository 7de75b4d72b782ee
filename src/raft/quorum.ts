// Majority arithmetic over a voter set: the highest index a quorum has
// acknowledged, and the outcome of a vote. Pure functions of the voter set so
// joint configurations can later combine two of them.

import type { LogIndex, NodeId } from "./types.js";

export type VoteResult = "won" | "lost" | "pending";

/** Number of voters that form a majority of `voterCount`. */
export function quorumSize(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The largest index acknowledged by a majority of `voters`; `ackedIndexOf`
 * returns 0 for a voter we know nothing about. An empty voter set returns
 * Infinity so that taking the min over a joint configuration ignores it.
 */
export function committedIndex(
  voters: readonly NodeId[],
  ackedIndexOf: (id: NodeId) => LogIndex,
): LogIndex {
  if (voters.length === 0) {
    return Number.POSITIVE_INFINITY;
  }
  const acked = voters.map(ackedIndexOf);
  // Sorted descending, the quorum-th largest value is held by a majority.
  acked.sort((a, b) => b - a);
  const index = acked[quorumSize(voters.length) - 1];
  return index ?? 0;
}

/** Outcome of an election given the votes received so far (true = granted). */
export function voteResult(
  voters: readonly NodeId[],
  votes: ReadonlyMap<NodeId, boolean>,
): VoteResult {
  if (voters.length === 0) {
    return "won";
  }
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === undefined) {
      missing += 1;
    } else if (vote) {
      granted += 1;
    }
  }
  const quorum = quorumSize(voters.length);
  if (granted >= quorum) {
    return "won";
  }
  if (granted + missing >= quorum) {
    return "pending";
  }
  return "lost";
}
