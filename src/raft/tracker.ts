// The membership as the protocol sees it: the voter set, one Progress per
// peer (including ourselves) and the votes of the current election. Keyed by
// NodeId so learners and configuration changes can be added without reshaping.

import { assert } from "../util/assert.js";
import { Progress } from "./progress.js";
import { committedIndex, quorumSize, type VoteResult, voteResult } from "./quorum.js";
import type { LogIndex, NodeId } from "./types.js";

export class ProgressTracker {
  /** Sorted ascending so iteration (and thus message order) is deterministic. */
  readonly voters: readonly NodeId[];
  readonly progress = new Map<NodeId, Progress>();
  readonly votes = new Map<NodeId, boolean>();
  readonly maxInflightMessages: number;

  constructor(voters: readonly NodeId[], maxInflightMessages: number) {
    assert(voters.length > 0, "a cluster needs at least one voter");
    const sorted = [...new Set(voters)].sort((a, b) => a - b);
    assert(sorted.length === voters.length, `duplicate voter ids in ${voters.join(",")}`);
    for (const id of sorted) {
      assert(Number.isSafeInteger(id) && id > 0, `voter id ${id} must be a positive integer`);
    }
    this.voters = sorted;
    this.maxInflightMessages = maxInflightMessages;
    for (const id of sorted) {
      this.progress.set(id, new Progress(0, 1, maxInflightMessages));
    }
  }

  isVoter(id: NodeId): boolean {
    return this.progress.has(id);
  }

  isSingleton(): boolean {
    return this.voters.length === 1;
  }

  get(id: NodeId): Progress | undefined {
    return this.progress.get(id);
  }

  /** Replaces every Progress (a new term starts from scratch). */
  resetProgress(lastIndex: LogIndex, selfId: NodeId, selfMatch: LogIndex): void {
    for (const id of this.voters) {
      const pr = new Progress(0, lastIndex + 1, this.maxInflightMessages);
      if (id === selfId) {
        pr.match = selfMatch;
      }
      this.progress.set(id, pr);
    }
  }

  /** The highest index durably replicated on a majority of voters. */
  committed(): LogIndex {
    return committedIndex(this.voters, (id) => this.progress.get(id)?.match ?? 0);
  }

  /** Number of voters (self included) heard from recently, for check-quorum. */
  activeVoterCount(selfId: NodeId): number {
    let active = 0;
    for (const id of this.voters) {
      if (id === selfId || this.progress.get(id)?.recentActive === true) {
        active += 1;
      }
    }
    return active;
  }

  quorumActive(selfId: NodeId): boolean {
    return this.activeVoterCount(selfId) >= quorumSize(this.voters.length);
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Records a vote; a voter's first answer in an election is the one that counts. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) {
      this.votes.set(id, granted);
    }
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const vote = this.votes.get(id);
      if (vote === true) {
        granted += 1;
      } else if (vote === false) {
        rejected += 1;
      }
    }
    return { granted, rejected, result: voteResult(this.voters, this.votes) };
  }
}
