// The membership as the protocol sees it: the voter and learner sets, one
// Progress per member (including ourselves) and the votes of the current
// election. Learners receive the log but never count towards a quorum.

import { assert } from "../util/assert.js";
import { Progress } from "./progress.js";
import { committedIndex, quorumSize, type VoteResult, voteResult } from "./quorum.js";
import type { ConfState, LogIndex, NodeId } from "./types.js";

function sortedIds(ids: readonly NodeId[], what: string): NodeId[] {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  assert(sorted.length === ids.length, `duplicate ${what} ids in ${ids.join(",")}`);
  for (const id of sorted) {
    assert(Number.isSafeInteger(id) && id > 0, `${what} id ${id} must be a positive integer`);
  }
  return sorted;
}

export class ProgressTracker {
  /** Sorted ascending so iteration (and thus message order) is deterministic. */
  voters: readonly NodeId[] = [];
  learners: readonly NodeId[] = [];
  /** Voters then learners: everyone the leader replicates to. */
  members: readonly NodeId[] = [];
  readonly progress = new Map<NodeId, Progress>();
  readonly votes = new Map<NodeId, boolean>();
  readonly maxInflightMessages: number;

  /**
   * An empty configuration is legal: a member joining an existing cluster
   * starts knowing nobody and learns the configuration from the leader.
   */
  constructor(confState: ConfState, maxInflightMessages: number) {
    this.maxInflightMessages = maxInflightMessages;
    this.setConf(confState, 0);
  }

  /**
   * Switches to a new configuration. Progress of members that stay is kept;
   * new members start probing right after `lastIndex`.
   */
  setConf(confState: ConfState, lastIndex: LogIndex): void {
    const voters = sortedIds(confState.voters, "voter");
    const learners = sortedIds(confState.learners, "learner");
    for (const id of learners) {
      assert(!voters.includes(id), `node ${id} cannot be both voter and learner`);
    }
    this.voters = voters;
    this.learners = learners;
    this.members = [...voters, ...learners];
    for (const id of [...this.progress.keys()]) {
      if (!this.members.includes(id)) this.progress.delete(id);
    }
    for (const id of this.members) {
      if (!this.progress.has(id)) {
        this.progress.set(id, new Progress(0, lastIndex + 1, this.maxInflightMessages));
      }
    }
  }

  confState(): ConfState {
    return { voters: this.voters, learners: this.learners };
  }

  isVoter(id: NodeId): boolean {
    return this.voters.includes(id);
  }

  isLearner(id: NodeId): boolean {
    return this.learners.includes(id);
  }

  isMember(id: NodeId): boolean {
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
    for (const id of this.members) {
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
