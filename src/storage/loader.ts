// Boot-time reading of the raft log and the meta records. Every record is
// CRC-checked as it is scanned; then the log's shape is checked against the
// meta records (no holes, starts at the log start, applied and commit in range).

import type { ClassicLevel } from "classic-level";
import type { ConfState, Entry, HardState, LogIndex, SnapshotMeta } from "../raft/types.js";
import { assertNever } from "../util/assert.js";
import { CorruptRecordError } from "./errors.js";
import { decodeInstallMarker, type InstallMarker } from "./install-marker.js";
import { LOG_RANGE, META_RANGE, metaNameOfKey } from "./keys.js";
import { decodeLogEntry } from "./log-record.js";
import {
  decodeConfState,
  decodeCounter,
  decodeHardState,
  decodeSnapshotMeta,
} from "./meta-record.js";
import { RecordDecodeError } from "./record-codec.js";

type Db = ClassicLevel<Uint8Array, Uint8Array>;
/** Called with each key before it is decoded, so errors can name the record. */
export type TrackKey = (key: Uint8Array) => void;

export interface LoadedMeta {
  hardState: HardState | null;
  confState: ConfState | null;
  appliedIndex: LogIndex;
  snapshotMeta: SnapshotMeta | null;
  /** First index kept by the last compaction; undefined if the log was never compacted. */
  logStart: LogIndex | undefined;
  /** This member's identity, recorded at its first start; null before. */
  memberId: number | null;
  clusterId: number | null;
  /** Present only if a snapshot install was interrupted; load() finishes it. */
  installMarker: InstallMarker | null;
}

export async function readMeta(db: Db, track: TrackKey): Promise<LoadedMeta> {
  const meta: LoadedMeta = {
    hardState: null,
    confState: null,
    appliedIndex: 0,
    snapshotMeta: null,
    logStart: undefined,
    memberId: null,
    clusterId: null,
    installMarker: null,
  };
  for await (const [key, value] of db.iterator({ gte: META_RANGE.gte, lt: META_RANGE.lt })) {
    track(key);
    const name = metaNameOfKey(key);
    if (name === undefined) {
      throw new RecordDecodeError("unknown meta record");
    }
    switch (name) {
      case "format-version":
        // Checked by open(); decoding again verifies its CRC with the rest.
        decodeCounter(key, value);
        break;
      case "hard-state":
        meta.hardState = decodeHardState(key, value);
        break;
      case "conf-state":
        meta.confState = decodeConfState(key, value);
        break;
      case "applied-index":
        meta.appliedIndex = decodeCounter(key, value);
        break;
      case "snapshot-meta":
        meta.snapshotMeta = decodeSnapshotMeta(key, value);
        break;
      case "log-start":
        meta.logStart = decodeCounter(key, value);
        break;
      case "member-id":
        meta.memberId = decodeCounter(key, value);
        break;
      case "cluster-id":
        meta.clusterId = decodeCounter(key, value);
        break;
      case "snapshot-install":
        meta.installMarker = decodeInstallMarker(key, value);
        break;
      default:
        assertNever(name, "meta record");
    }
  }
  return meta;
}

export async function readLog(db: Db, track: TrackKey): Promise<Entry[]> {
  const entries: Entry[] = [];
  for await (const [key, value] of db.iterator({ gte: LOG_RANGE.gte, lt: LOG_RANGE.lt })) {
    track(key);
    entries.push(decodeLogEntry(key, value));
  }
  return entries;
}

/**
 * Checks that the log holds exactly [firstIndex, lastIndex] with no holes and
 * that the applied index and commit index point into what is there. Returns
 * lastIndex (firstIndex - 1 for an empty log).
 */
export function checkLogShape(
  dataDir: string,
  entries: readonly Entry[],
  firstIndex: LogIndex,
  meta: LoadedMeta,
): LogIndex {
  let expected = firstIndex;
  for (const entry of entries) {
    if (entry.index < expected) {
      throw new CorruptRecordError(
        dataDir,
        `log index ${entry.index}`,
        `present although the log starts at ${firstIndex} (a compaction did not take effect)`,
      );
    }
    if (entry.index > expected) {
      throw new CorruptRecordError(
        dataDir,
        `log index ${expected}`,
        `missing: the log jumps from ${expected - 1} to ${entry.index}`,
      );
    }
    expected += 1;
  }
  const lastIndex = expected - 1;
  checkIndexesInLog(dataDir, firstIndex, lastIndex, meta);
  return lastIndex;
}

function checkIndexesInLog(
  dataDir: string,
  firstIndex: LogIndex,
  lastIndex: LogIndex,
  meta: LoadedMeta,
): void {
  if (meta.appliedIndex < firstIndex - 1) {
    throw new CorruptRecordError(
      dataDir,
      "meta applied-index",
      `applied index ${meta.appliedIndex} is below the log start ${firstIndex}: entries ` +
        `${meta.appliedIndex + 1}..${firstIndex - 1} are neither in the log nor in the state`,
    );
  }
  if (meta.appliedIndex > lastIndex) {
    throw new CorruptRecordError(
      dataDir,
      "meta applied-index",
      `applied index ${meta.appliedIndex} is beyond the last log index ${lastIndex}`,
    );
  }
  const commit = meta.hardState?.commit ?? 0;
  if (commit > lastIndex) {
    throw new CorruptRecordError(
      dataDir,
      "meta hard-state",
      `commit index ${commit} is beyond the last log index ${lastIndex}: committed entries are missing`,
    );
  }
}
