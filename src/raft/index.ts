// Public surface of the Raft core. Everything else in src/raft is internal.

export type {
  BasicStatus,
  PeerStatus,
  ProposeRejectReason,
  ProposeResult,
  RaftConfig,
  RaftLogger,
  RaftStatus,
} from "./config.js";
export {
  COMMITTED_BYTES_PER_READY_MAX,
  READ_INDEX_QUEUE_MAX,
  UNCOMMITTED_ENTRIES_MAX,
} from "./config.js";
export type { MemoryStorageInit } from "./memory-storage.js";
export { MemoryStorage, StorageSnapshotOutOfDateError } from "./memory-storage.js";
export type { ProgressState } from "./progress.js";
export { EARLY_MESSAGE_TYPES, RawNode, splitEarlyMessages } from "./raw-node.js";
export type {
  ConfState,
  Entry,
  EntryKind,
  HardState,
  LogIndex,
  Message,
  MessageType,
  NodeId,
  Rand,
  ReadState,
  Ready,
  Role,
  Snapshot,
  SnapshotMeta,
  SoftState,
  Storage,
  Term,
} from "./types.js";
export {
  emptyMessage,
  entrySizeBytes,
  LOCAL_MESSAGE_TYPES,
  NO_NODE,
  StorageCompactedError,
  StorageUnavailableError,
} from "./types.js";
