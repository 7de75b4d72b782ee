// Whether this member takes a new proposal right now: the pure decision behind
// RaftNode.propose's fast refusals. A member that cannot keep up (etcd's
// committed − applied gap) or cannot write (full disk) refuses at once, with
// an error that says why, instead of queueing work it cannot finish.
import type { Command } from "../state/command.js";
import { CairnError } from "./errors.js";

/** etcd's maxGapBetweenApplyAndCommitIndex: past it, proposals fail with "too many requests". */
export const APPLY_BACKLOG_ENTRIES_MAX = 5_000;

/**
 * What a member below its free-space reserve still proposes, as under etcd's
 * NOSPACE alarm: what keeps the cluster running without growing the data
 * (deletes, lease keep-alives and revokes, compaction, alarms, member
 * attributes, digest checkpoints). Locks and sessions must not be lost, nor
 * housekeeping stall, because one member's disk is filling; the reserve is
 * there for such small writes.
 */
const ALLOWED_BELOW_RESERVE: ReadonlySet<Command["kind"]> = new Set<Command["kind"]>([
  "delete-range",
  "lease-renew",
  "lease-revoke",
  "compact",
  "alarm",
  "member-attributes",
  "digest-checkpoint",
]);

export interface AdmissionInput {
  readonly kind: Command["kind"];
  readonly commitIndex: number;
  readonly appliedIndex: number;
  /** Set while the Raft loop waits for a write that failed for lack of space: nothing can be written. */
  readonly diskPaused: string | null;
  /** Set while free space is below --disk-reserve-bytes: only ALLOWED_BELOW_RESERVE is written. */
  readonly diskLow: string | null;
  readonly backlogEntriesMax?: number;
}

/** Null when the proposal may go ahead; otherwise the error to fail it with. */
export function proposalRefusal(input: AdmissionInput): CairnError | null {
  const disk = input.diskPaused ?? (ALLOWED_BELOW_RESERVE.has(input.kind) ? null : input.diskLow);
  if (disk !== null) {
    return new CairnError("NO_SPACE_ON_DEVICE", `etcdserver: ${disk}`);
  }
  const backlog = input.commitIndex - input.appliedIndex;
  if (backlog > (input.backlogEntriesMax ?? APPLY_BACKLOG_ENTRIES_MAX)) {
    return new CairnError("TOO_MANY_REQUESTS");
  }
  return null;
}
