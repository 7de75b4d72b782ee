// Whether this member takes a new proposal right now: the pure decision behind
// RaftNode.propose's fast refusals. A member that cannot keep up (etcd's
// committed − applied gap) or cannot write (full disk) refuses at once, with
// an error that says why, instead of queueing work it cannot finish.
import { CairnError } from "./errors.js";

/** etcd's maxGapBetweenApplyAndCommitIndex: past it, proposals fail with "too many requests". */
export const APPLY_BACKLOG_ENTRIES_MAX = 5_000;

export interface AdmissionInput {
  readonly commitIndex: number;
  readonly appliedIndex: number;
  /**
   * Why this member's disk cannot take writes (the raft loop is paused on a
   * full disk, or free space is below the reserve), or null when it can.
   */
  readonly diskProblem: string | null;
  readonly backlogEntriesMax?: number;
}

/** Null when the proposal may go ahead; otherwise the error to fail it with. */
export function proposalRefusal(input: AdmissionInput): CairnError | null {
  if (input.diskProblem !== null) {
    return new CairnError("NO_SPACE_ON_DEVICE", `etcdserver: ${input.diskProblem}`);
  }
  const backlog = input.commitIndex - input.appliedIndex;
  if (backlog > (input.backlogEntriesMax ?? APPLY_BACKLOG_ENTRIES_MAX)) {
    return new CairnError("TOO_MANY_REQUESTS");
  }
  return null;
}
