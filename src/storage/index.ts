// Public entry point of the storage layer: the DiskStore, its data types and
// its errors. Codecs and key layout stay internal to src/storage.

export {
  type ApplyStateOptions,
  DiskStore,
  type DiskStoreOptions,
  type DiskWriteFaults,
  type LoadedState,
  type MemberIdentity,
  type RecoveredInstall,
  STORAGE_FORMAT_VERSION,
  type StateExportRecord,
  type StateWrite,
  type SyncObserver,
} from "./disk-store.js";
export {
  CorruptRecordError,
  StorageError,
  type StorageErrorCode,
  StorageIoError,
  StorageLockedError,
  UnsupportedFormatError,
} from "./errors.js";
export type { StagedRow } from "./staged-install.js";
