// The RawNode's configuration, its results and status shapes, and the named
// bounds of every queue the core keeps. Validated once, at construction.

import { assert } from "../util/assert.js";
import type { ProgressState } from "./progress.js";
import type { LogIndex, NodeId, Rand, Role, Storage, Term } from "./types.js";

export interface RaftLogger {
  event(name: string, fields: Readonly<Record<string, unknown>>): void;
}

export interface RaftConfig {
  readonly id: NodeId;
  /** Election timeout is randomized in [electionTicks, 2*electionTicks). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly storage: Storage;
  /** Last applied index at start; committed entries after it are re-delivered. */
  readonly applied: LogIndex;
  /** Byte budget per MsgApp (at least one entry is always sent). */
  readonly maxBytesPerMessage: number;
  /** Per-follower window of unacknowledged MsgApps in replicate state. */
  readonly maxInflightMessages: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly rand: Rand;
  readonly logger?: RaftLogger;
}

export type ProposeRejectReason =
  /** No known leader to forward to (election in progress or partitioned). */
  | "no-leader"
  /** The leader is handing leadership over and refuses new work meanwhile. */
  | "transferring-leadership"
  /** The leader holds UNCOMMITTED_ENTRIES_MAX entries that no quorum has acknowledged yet. */
  | "too-many-uncommitted"
  /** READ_INDEX_QUEUE_MAX reads are already waiting for confirmation. */
  | "too-many-reads"
  /** A configuration change is still being applied, or the new leader has not committed yet. */
  | "conf-change-pending";

/** ok means accepted locally or forwarded; it is not a promise of commit. */
export type ProposeResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: ProposeRejectReason };

export interface PeerStatus {
  readonly id: NodeId;
  readonly match: LogIndex;
  readonly next: LogIndex;
  readonly state: ProgressState;
  readonly recentActive: boolean;
  readonly ticksSinceHeardFrom: number;
  readonly inflightMessages: number;
}

export interface BasicStatus {
  readonly id: NodeId;
  readonly term: Term;
  readonly vote: NodeId;
  readonly commit: LogIndex;
  readonly applied: LogIndex;
  readonly lastIndex: LogIndex;
  readonly lastTerm: Term;
  readonly role: Role;
  readonly leader: NodeId;
  readonly leadTransferee: NodeId;
  readonly electionElapsedTicks: number;
}

export interface RaftStatus extends BasicStatus {
  /** Leader only: every voter except this node, in id order. Empty otherwise. */
  readonly progress: ReadonlyMap<NodeId, PeerStatus>;
}

/** Bound on entries appended by a leader but not yet committed. */
export const UNCOMMITTED_ENTRIES_MAX = 65_536;
/** Bound on ReadIndex requests queued at a leader (awaiting commit or confirmation). */
export const READ_INDEX_QUEUE_MAX = 4_096;
/** Bound on the bytes of committed entries handed out in one Ready. */
export const COMMITTED_BYTES_PER_READY_MAX = 16 * 1024 * 1024;

export function validateConfig(config: RaftConfig): void {
  assert(Number.isSafeInteger(config.id) && config.id > 0, `id ${config.id} must be > 0`);
  assert(
    Number.isSafeInteger(config.heartbeatTicks) && config.heartbeatTicks > 0,
    `heartbeatTicks ${config.heartbeatTicks} must be > 0`,
  );
  assert(
    Number.isSafeInteger(config.electionTicks) && config.electionTicks > config.heartbeatTicks,
    `electionTicks ${config.electionTicks} must be > heartbeatTicks ${config.heartbeatTicks}`,
  );
  assert(
    Number.isSafeInteger(config.maxBytesPerMessage) && config.maxBytesPerMessage > 0,
    `maxBytesPerMessage ${config.maxBytesPerMessage} must be > 0`,
  );
  assert(
    Number.isSafeInteger(config.maxInflightMessages) && config.maxInflightMessages > 0,
    `maxInflightMessages ${config.maxInflightMessages} must be > 0`,
  );
  assert(
    Number.isSafeInteger(config.applied) && config.applied >= 0,
    `applied ${config.applied} must be >= 0`,
  );
}
