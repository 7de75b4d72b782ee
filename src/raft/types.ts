// The vocabulary of the Raft core: log entries, persistent state, messages and
// the Ready batch the shell must persist/send/apply. Everything here is plain
// data so it can be encoded on the wire and compared in simulation.

/** A node's Raft id: a positive safe integer. 0 means "nobody". */
export type NodeId = number;
export type Term = number;
export type LogIndex = number;

export const NO_NODE: NodeId = 0;

export type EntryKind = "normal" | "conf-change";

export interface Entry {
  readonly term: Term;
  readonly index: LogIndex;
  readonly kind: EntryKind;
  /** Opaque command bytes; empty for the leader's no-op entry. */
  readonly data: Uint8Array;
}

/** Must be durable before any message that depends on it is sent. */
export interface HardState {
  readonly term: Term;
  readonly vote: NodeId;
  readonly commit: LogIndex;
}

export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export interface SnapshotMeta {
  readonly index: LogIndex;
  readonly term: Term;
  readonly confState: ConfState;
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

export type Role = "follower" | "pre-candidate" | "candidate" | "leader";

/**
 * Message types, named as in etcd-io/raft. Local-only types never cross the
 * network: MsgHup (start an election), MsgBeat (leader: send heartbeats),
 * MsgCheckQuorum, MsgUnreachable and MsgSnapStatus (shell feedback).
 */
export type MessageType =
  | "MsgHup"
  | "MsgBeat"
  | "MsgCheckQuorum"
  | "MsgProp"
  | "MsgApp"
  | "MsgAppResp"
  | "MsgVote"
  | "MsgVoteResp"
  | "MsgPreVote"
  | "MsgPreVoteResp"
  | "MsgHeartbeat"
  | "MsgHeartbeatResp"
  | "MsgReadIndex"
  | "MsgReadIndexResp"
  | "MsgSnap"
  | "MsgSnapStatus"
  | "MsgUnreachable"
  | "MsgTransferLeader"
  | "MsgTimeoutNow";

export const LOCAL_MESSAGE_TYPES: ReadonlySet<MessageType> = new Set<MessageType>([
  "MsgHup",
  "MsgBeat",
  "MsgCheckQuorum",
  "MsgSnapStatus",
  "MsgUnreachable",
]);

/**
 * One flat record for every message type (as etcd's raftpb.Message) so the
 * wire codec is a single schema. Fields a type does not use are zero/empty.
 */
export interface Message {
  readonly type: MessageType;
  readonly to: NodeId;
  readonly from: NodeId;
  readonly term: Term;
  /** MsgApp: term of the entry at `index`. Votes: candidate's last log term. */
  readonly logTerm: Term;
  /** MsgApp: index preceding `entries`. MsgAppResp: accepted/rejected index. Votes: last index. */
  readonly index: LogIndex;
  readonly entries: readonly Entry[];
  readonly commit: LogIndex;
  readonly reject: boolean;
  /** MsgAppResp on reject: the follower's best guess of where logs may match. */
  readonly rejectHint: LogIndex;
  /** ReadIndex request context, echoed back in heartbeats and responses. */
  readonly context: Uint8Array;
  readonly snapshot: Snapshot | null;
}

export interface SoftState {
  readonly leader: NodeId;
  readonly role: Role;
}

/** A ReadIndex answer: once applied >= index, a read for requestContext is linearizable. */
export interface ReadState {
  readonly index: LogIndex;
  readonly requestContext: Uint8Array;
}

/**
 * The work the shell must do, in this order (etcd-io/raft's contract, with
 * the leader's early sends of thesis §10.2.1; details in raw-node.ts):
 * 0. send `earlyMessages` (any time from now on, before or during step 1);
 * 1. persist `snapshot`, `entries` and `hardState` (one synced batch when mustSync);
 * 2. send `messages` (only after step 1 is durable);
 * 3. apply `committedEntries`;
 * 4. call advance(ready).
 */
export interface Ready {
  readonly softState: SoftState | null;
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | null;
  readonly committedEntries: readonly Entry[];
  /**
   * A leader's replication traffic that promises nothing about our own disk:
   * it may leave before this Ready is persisted (see raw-node.ts). Disjoint
   * from `messages`; a shell may also send it with them, after the persist.
   */
  readonly earlyMessages: readonly Message[];
  /** Everything else: leaves only once this Ready's persist is durable. */
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
  readonly mustSync: boolean;
}

/** Injected randomness so the core stays deterministic under a seed. */
export interface Rand {
  /** A uniformly distributed integer in [0, maxExclusive). */
  nextInt(maxExclusive: number): number;
}

/**
 * The core's read-only view of the stable log. The shell writes it (after
 * persisting) and the core only reads. Methods throw StorageCompactedError or
 * StorageUnavailableError; any other exception makes the node inoperable.
 */
export interface Storage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at least one if any exist, total size capped by maxBytes. */
  entries(lo: LogIndex, hi: LogIndex, maxBytes: number): Entry[];
  term(index: LogIndex): Term;
  firstIndex(): LogIndex;
  lastIndex(): LogIndex;
  snapshot(): Snapshot;
}

export class StorageCompactedError extends Error {
  override readonly name = "StorageCompactedError";
}

export class StorageUnavailableError extends Error {
  override readonly name = "StorageUnavailableError";
}

export function emptyMessage(type: MessageType, from: NodeId, to: NodeId, term: Term): Message {
  return {
    type,
    to,
    from,
    term,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    context: new Uint8Array(0),
    snapshot: null,
  };
}

/** Approximate encoded size of an entry, used for byte-bounded batching. */
export function entrySizeBytes(entry: Entry): number {
  return entry.data.byteLength + 24;
}
