// Writes a fresh data dir that boots as a member which has applied everything
// up to a snapshot point (`cairn snapshot restore`). DiskStore cannot build
// one through its normal writes: they only ever extend a log that starts at
// index 1, and a restored member has no log before the point at all. So the
// records are written here directly, with DiskStore's key layout and codecs:
//   state rows              the snapshot's rows (after restore-rows.ts)
//   meta applied-index      point.index
//   meta snapshot-meta      { point.index, point.term, point.confState }
//   meta conf-state         point.confState
//   meta log-start          point.index + 1 (the log is empty)
//   meta hard-state         { term: point.term, vote: 0, commit: point.index }
//   meta format-version     STORAGE_FORMAT_VERSION, in the last batch
// The meta records go in one final synced batch: a dir whose writing stopped
// halfway has rows but no format version, which DiskStore.open refuses. The
// result is then read back through DiskStore.load, so what is handed over is
// known to boot. Callers write into a temporary directory and rename it.
import { ClassicLevel } from "classic-level";
import type { ConfState, LogIndex, Term } from "../raft/types.js";
import type { StateRow } from "../state/restore-rows.js";
import { assert } from "../util/assert.js";
import { type BatchOp, putOp } from "./batch-op.js";
import type { MemberIdentity } from "./disk-store.js";
import { DiskStore, type LoadedState, STORAGE_FORMAT_VERSION } from "./disk-store.js";
import { CorruptRecordError, fromLevelError } from "./errors.js";
import { metaKey, stateKey } from "./keys.js";
import {
  encodeConfState,
  encodeCounter,
  encodeHardState,
  encodeSnapshotMeta,
} from "./meta-record.js";
import { frameBytes } from "./record-codec.js";

/** The point the restored member has applied everything up to. */
export interface SnapshotPoint {
  readonly index: LogIndex;
  readonly term: Term;
  /** The members of the new cluster. */
  readonly confState: ConfState;
  /** Who the restored member is (see DiskStore.setIdentity). */
  readonly identity: MemberIdentity;
}

/** Rows per unsynced batch: bounds the memory one LevelDB batch holds. */
const ROWS_PER_BATCH = 1000;

type Db = ClassicLevel<Uint8Array, Uint8Array>;

/** Writes the data dir (which must not hold a LevelDB yet) and returns what DiskStore loads from it. */
export async function writeDataDirAtSnapshot(
  dataDir: string,
  point: SnapshotPoint,
  rows: Iterable<StateRow>,
): Promise<LoadedState> {
  assert(Number.isSafeInteger(point.index) && point.index >= 1, `bad point index ${point.index}`);
  assert(Number.isSafeInteger(point.term) && point.term >= 1, `bad point term ${point.term}`);
  assert(point.confState.voters.length > 0, "a restored cluster needs at least one voter");
  const db: Db = new ClassicLevel<Uint8Array, Uint8Array>(dataDir, {
    keyEncoding: "view",
    valueEncoding: "view",
    createIfMissing: true,
    errorIfExists: true,
  });
  await guard(dataDir, "open", () => db.open());
  try {
    let batch: BatchOp[] = [];
    for (const row of rows) {
      const key = stateKey(row.table, row.key);
      batch.push(putOp(key, frameBytes(key, row.value)));
      if (batch.length >= ROWS_PER_BATCH) {
        const full = batch;
        batch = [];
        await guard(dataDir, "write state rows", () => db.batch(full, { sync: false }));
      }
    }
    batch.push(...metaOps(point));
    await guard(dataDir, "write meta records", () => db.batch(batch, { sync: true }));
  } catch (error) {
    // The write failure is what the operator must see; a close failure on top adds nothing.
    await db.close().catch(() => undefined);
    throw error;
  }
  await guard(dataDir, "close", () => db.close());
  return readBack(dataDir, point);
}

function metaOps(point: SnapshotPoint): BatchOp[] {
  const put = (name: Parameters<typeof metaKey>[0], encode: (key: Uint8Array) => Uint8Array) => {
    const key = metaKey(name);
    return putOp(key, encode(key));
  };
  return [
    put("applied-index", (key) => encodeCounter(key, point.index)),
    put("snapshot-meta", (key) =>
      encodeSnapshotMeta(key, { index: point.index, term: point.term, confState: point.confState }),
    ),
    put("conf-state", (key) => encodeConfState(key, point.confState)),
    put("log-start", (key) => encodeCounter(key, point.index + 1)),
    put("hard-state", (key) =>
      encodeHardState(key, { term: point.term, vote: 0, commit: point.index }),
    ),
    put("member-id", (key) => encodeCounter(key, point.identity.memberId)),
    put("cluster-id", (key) => encodeCounter(key, point.identity.clusterId)),
    put("format-version", (key) => encodeCounter(key, STORAGE_FORMAT_VERSION)),
  ];
}

/** Loads the new dir as a member would at boot and checks it is at the point. */
async function readBack(dataDir: string, point: SnapshotPoint): Promise<LoadedState> {
  const store = await DiskStore.open(dataDir);
  try {
    const loaded = await store.load();
    const atPoint =
      loaded.appliedIndex === point.index &&
      loaded.firstIndex === point.index + 1 &&
      loaded.entries.length === 0 &&
      loaded.snapshotMeta?.index === point.index &&
      loaded.hardState.commit === point.index;
    if (!atPoint) {
      throw new CorruptRecordError(
        dataDir,
        "meta records",
        `read back applied ${loaded.appliedIndex}, log start ${loaded.firstIndex}, ` +
          `snapshot ${loaded.snapshotMeta?.index ?? "none"}, commit ${loaded.hardState.commit}; ` +
          `expected everything at index ${point.index}`,
      );
    }
    return loaded;
  } finally {
    await store.close();
  }
}

async function guard<T>(dataDir: string, operation: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    throw fromLevelError(error, dataDir, `restore: ${operation}`);
  }
}
