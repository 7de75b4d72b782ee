// Single-member configuration changes (etcd's ConfChange, not joint
// consensus): each adds, promotes or removes one member, so any two adjacent
// configurations share a majority. The leader allows one change in flight at a
// time (see requests.ts) and the change takes effect when applied.

import type { ConfState, NodeId } from "./types.js";

/**
 * add-voter: a new voter, or a learner promoted to voter.
 * add-learner: a new non-voting member.
 * remove: drop a voter or learner.
 * update: no change to the configuration (etcd's UpdateNode: the shell
 *   changes the member's addresses when it applies the entry).
 */
export type ConfChangeType = "add-voter" | "add-learner" | "remove" | "update";

export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
}

/** The change cannot apply to the configuration it met (checked before proposing, so rare). */
export class ConfChangeError extends Error {
  override readonly name = "ConfChangeError";
}

/**
 * The configuration after `change`. Pure: a committed change that no longer
 * makes sense (e.g. adding a member twice) throws, and the caller decides.
 */
export function nextConfState(current: ConfState, change: ConfChange): ConfState {
  const id = change.nodeId;
  if (!Number.isSafeInteger(id) || id <= 0) {
    throw new ConfChangeError(`member id ${id} must be a positive integer`);
  }
  const isVoter = current.voters.includes(id);
  const isLearner = current.learners.includes(id);
  const without = (ids: readonly NodeId[]) => ids.filter((other) => other !== id);
  switch (change.type) {
    case "add-voter":
      if (isVoter) throw new ConfChangeError(`member ${id} is already a voter`);
      return { voters: [...current.voters, id], learners: without(current.learners) };
    case "add-learner":
      if (isVoter) throw new ConfChangeError(`member ${id} is a voter; it cannot become a learner`);
      if (isLearner) throw new ConfChangeError(`member ${id} is already a learner`);
      return { voters: current.voters, learners: [...current.learners, id] };
    case "remove":
      if (!isVoter && !isLearner) throw new ConfChangeError(`member ${id} is not a member`);
      if (isVoter && current.voters.length === 1) {
        throw new ConfChangeError(`member ${id} is the last voter`);
      }
      return { voters: without(current.voters), learners: without(current.learners) };
    case "update":
      if (!isVoter && !isLearner) throw new ConfChangeError(`member ${id} is not a member`);
      return current;
    default: {
      const never: never = change.type;
      throw new ConfChangeError(`unknown configuration change ${String(never)}`);
    }
  }
}

/** Number of voters that must agree in a configuration of `voterCount` voters. */
function majority(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * True if some majority of `a` and some majority of `b` share no voter: two
 * configurations in force at once must never allow that (two leaders could
 * then commit different entries at the same index).
 */
export function allowsDisjointMajorities(a: ConfState, b: ConfState): boolean {
  if (a.voters.length === 0 || b.voters.length === 0) {
    return false;
  }
  const inB = new Set(b.voters);
  const shared = a.voters.filter((id) => inB.has(id)).length;
  const onlyA = a.voters.length - shared;
  const onlyB = b.voters.length - shared;
  // Each majority first takes the voters only it has; shared voters cannot go to both.
  const sharedNeededA = Math.max(0, majority(a.voters.length) - onlyA);
  const sharedNeededB = Math.max(0, majority(b.voters.length) - onlyB);
  return sharedNeededA + sharedNeededB <= shared;
}
