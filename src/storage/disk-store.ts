// DiskStore: the node's one LevelDB (key layout in keys.ts, value framing in
// record-codec.ts). It persists Raft's log and hard state in synced batches,
// the state machine's writes plus the applied index in unsynced batches, and
// reads it all back at boot, refusing to start on any record that fails its CRC.
//
// On disk (details in keys.ts and the *-record.ts codecs), every value CRC-framed:
//   0x01 | index u64 BE                  log entry: kind u8, term u64, index u64, data
//   0x02 | "hard-state" | "conf-state" | "applied-index" | "snapshot-meta"
//        | "log-start" | "format-version"   meta records
//   0x03 | len u8 | table | key          state table rows (the state machine's bytes)
//   0x04 | len u8 | table | key          staged rows of a snapshot being received
//
// Rules the node's loop relies on:
// 1. `load()` runs once, after `open()` and before any write.
// 2. Writes go through three lanes, each with at most one call in flight
//    (asserted): the raft lane (persistRaft, compactLog) owns the log bounds
//    and hard state; the state lane (applyState, setConfState, setSnapshotMeta)
//    owns the applied index and the records the state machine depends on; the
//    stage lane (beginSnapshotStaging, stageRows, abortStaging) owns the rows
//    of a snapshot being received. The lanes write disjoint keys, so the loop
//    may apply while it persists and a snapshot streams in meanwhile.
//    applyState given a hard state (ApplyStateOptions.hardState) writes it in
//    its batch, so it holds the raft lane too: the commit index that covers
//    the rows lands with them rather than in a write of its own.
//    installStagedSnapshot touches everything and needs all three lanes idle.
// 3. After any write fails, every later write fails with the same error until
//    reopen() succeeds: LevelDB may have left a torn record in its write-ahead
//    log, and writing on after it can lose later writes at the next recovery.
//
// Snapshot install API (protocol and crash safety in staged-install.ts):
//   beginSnapshotStaging(stagingId)  drops leftover staged rows, starts a staging
//   stageRows(rows)                  one unsynced batch of staged rows
//   abortStaging()                   deletes the staged rows (bounded batches)
//   installStagedSnapshot(meta)      staged rows replace every state row; applied
//                                    index = meta.index; snapshot meta, conf state;
//                                    the log restarts empty at meta.index + 1
//   load()                           finishes an install a crash interrupted, or
//                                    deletes staged rows no install claimed

import { mkdir } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { ClassicLevel } from "classic-level";
import type { ConfState, Entry, HardState, LogIndex, SnapshotMeta } from "../raft/types.js";
import { AssertionError, assert } from "../util/assert.js";
import { type BatchOp, delOp, putOp } from "./batch-op.js";
import { dirSizeBytes } from "./dir-size.js";
import {
  CorruptRecordError,
  errorMessage,
  fromLevelError,
  type StorageError,
  StorageIoError,
  UnsupportedFormatError,
} from "./errors.js";
import {
  ALL_RANGE,
  describeKey,
  logKey,
  metaKey,
  STAGE_RANGE,
  stateKey,
  stateTableRange,
} from "./keys.js";
import { checkLogShape, type LoadedMeta, readLog, readMeta } from "./loader.js";
import {
  decodeCounter,
  encodeConfState,
  encodeCounter,
  encodeHardState,
  encodeSnapshotMeta,
} from "./meta-record.js";
import { type DurableLog, planRaftBatch } from "./raft-batch.js";
import { frameBytes, RecordDecodeError, unframeBytes } from "./record-codec.js";
import {
  clearRange,
  INSTALL_BATCH_BYTES_MAX_DEFAULT,
  INSTALL_BATCH_OPS_MAX_DEFAULT,
  InstallWriter,
  markerOps,
  planStageBatch,
  runInstall,
  SimulatedCrashError,
  type StagedRow,
} from "./staged-install.js";
import { WriteBehind } from "./write-behind.js";

/** Bumped when the key layout or a record encoding changes incompatibly. */
// 2: the log starts with the bootstrap configuration entries; identity records.
export const STORAGE_FORMAT_VERSION = 2;

/** One state machine write; `value: null` deletes the key. */
export interface StateWrite {
  readonly table: string;
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
}

export interface LoadedState {
  readonly hardState: HardState;
  readonly confState: ConfState | null;
  readonly appliedIndex: LogIndex;
  /** Index of entries[0]; when the log is empty, the index the next append must start at. */
  readonly firstIndex: LogIndex;
  /** Every log entry on disk, contiguous, in index order. */
  readonly entries: Entry[];
  readonly snapshotMeta: SnapshotMeta | null;
  /** This member's id and cluster id as recorded at its first start; null before. */
  readonly identity: MemberIdentity | null;
  /** Present only when load() finished a snapshot install that a crash had interrupted. */
  readonly recoveredInstall?: RecoveredInstall;
}

export interface MemberIdentity {
  readonly memberId: number;
  readonly clusterId: number;
}

export interface RecoveredInstall {
  readonly stagingId: number;
  readonly meta: SnapshotMeta;
}

/** Told about every synced persistRaft batch; `bytes` counts encoded keys and values written. */
export type SyncObserver = (durationMs: number, entries: number, bytes: number) => void;

/** Test-only fault injection: an Error returned fails the batch as if LevelDB had. */
export interface DiskWriteFaults {
  beforeWrite(operation: string): Error | null;
}

export interface DiskStoreOptions {
  readonly onSync?: SyncObserver;
  /** Bounds each batch of a snapshot install or staging cleanup. */
  readonly installBatchOpsMax?: number;
  readonly installBatchBytesMax?: number;
  /** Tests only: stop every install (and load()'s recovery) after this many batches. */
  readonly testInstallCrashAfterBatches?: number;
  readonly faults?: DiskWriteFaults;
  /**
   * Test-only (--unsafe no-fsync): unsynced writes wait this long in the
   * process before reaching LevelDB, so a SIGKILL loses them as a power cut
   * loses the page cache (see write-behind.ts). Unset: every write goes
   * straight to LevelDB.
   */
  readonly unsafeWriteBehindMs?: number;
}

export interface ApplyStateOptions {
  /** fsync this batch, e.g. before compacting the log entries it covers. Default false. */
  readonly sync?: boolean;
  /** The Raft configuration as of `appliedIndex`, when a configuration change was applied. */
  readonly confState?: ConfState;
  /**
   * A hard state to write in the same batch; only its commit index may be
   * newer than the durable one (term and vote changes go through persistRaft,
   * synced). It must cover `appliedIndex`: Raft refuses to start with an
   * applied index beyond its commit index.
   */
  readonly hardState?: HardState;
}

type Db = ClassicLevel<Uint8Array, Uint8Array>;
const WRITE_LANES = ["raft", "state", "stage"] as const;
type WriteLane = (typeof WRITE_LANES)[number];
type Phase = "opened" | "loaded" | "closed";

const EMPTY_HARD_STATE: HardState = { term: 0, vote: 0, commit: 0 };

/** What exportState yields: the applied index first, then every row. */
export type StateExportRecord =
  | { readonly kind: "applied"; readonly appliedIndex: LogIndex }
  | {
      readonly kind: "row";
      readonly table: string;
      readonly key: Uint8Array;
      readonly value: Uint8Array;
    };

export class DiskStore {
  readonly dataDir: string;
  private readonly db: Db;
  private readonly onSync: SyncObserver | undefined;
  private readonly faults: DiskWriteFaults | undefined;
  /** The failure every write repeats until reopen() (rule 3). */
  private writeFailure: StorageError | null = null;
  private phase: Phase = "opened";
  private readonly inFlight: Record<WriteLane, string | null> = {
    raft: null,
    state: null,
    stage: null,
  };
  // Mirrors of what is on disk, valid once loaded. Invariant: firstIndex - 1 <= lastIndex,
  // and every index in [firstIndex, lastIndex] has a log record.
  private firstIndex: LogIndex = 1;
  private lastIndex: LogIndex = 0;
  private hardState: HardState = EMPTY_HARD_STATE;
  private appliedIndex: LogIndex = 0;
  private snapshotIndex: LogIndex = 0;
  /** The staging that stageRows writes into; null when none was begun. */
  private stagingId: number | null = null;
  /** Set while installStagedSnapshot runs: readers wait for it rather than see half the rows. */
  private installing: Promise<void> | null = null;
  private recoveredInstall: RecoveredInstall | null = null;
  private readonly options: DiskStoreOptions;
  private readonly writeBehind: WriteBehind | null;

  private constructor(db: Db, dataDir: string, options: DiskStoreOptions) {
    this.db = db;
    this.dataDir = dataDir;
    this.onSync = options.onSync;
    this.options = options;
    this.faults = options.faults;
    this.writeBehind =
      options.unsafeWriteBehindMs === undefined
        ? null
        : new WriteBehind((ops) => db.batch(ops, { sync: false }), options.unsafeWriteBehindMs);
  }

  /** Opens (creating if needed) the store in `dataDir` and checks its format version. */
  static async open(dataDir: string, options: DiskStoreOptions = {}): Promise<DiskStore> {
    try {
      await mkdir(dataDir, { recursive: true });
    } catch (error) {
      throw new StorageIoError(dataDir, "create data dir", errorMessage(error), { cause: error });
    }
    const db: Db = new ClassicLevel<Uint8Array, Uint8Array>(dataDir, {
      keyEncoding: "view",
      valueEncoding: "view",
      createIfMissing: true,
      errorIfExists: false,
    });
    try {
      await db.open();
    } catch (error) {
      throw fromLevelError(error, dataDir, "open");
    }
    const store = new DiskStore(db, dataDir, options);
    try {
      await store.checkFormatVersion();
    } catch (error) {
      // The format error is what the operator must see; a close failure on top adds nothing.
      await db.close().catch(() => undefined);
      throw error;
    }
    return store;
  }

  /** Reads and CRC-checks the log and every meta record; throws CorruptRecordError on any bad one. */
  async load(): Promise<LoadedState> {
    assert(this.phase === "opened", `load() runs once, after open(); store is ${this.phase}`);
    const meta = await this.recoverStaging(
      await this.guardRead("load meta", (track) => readMeta(this.db, track)),
    );
    const entries = await this.guardRead("load log", (track) => readLog(this.db, track));
    const firstIndex = meta.logStart ?? 1;
    const lastIndex = checkLogShape(this.dataDir, entries, firstIndex, meta);
    this.firstIndex = firstIndex;
    this.lastIndex = lastIndex;
    this.hardState = meta.hardState ?? EMPTY_HARD_STATE;
    this.appliedIndex = meta.appliedIndex;
    this.snapshotIndex = meta.snapshotMeta?.index ?? 0;
    this.phase = "loaded";
    const loaded: LoadedState = {
      hardState: this.hardState,
      confState: meta.confState,
      appliedIndex: meta.appliedIndex,
      firstIndex,
      entries,
      snapshotMeta: meta.snapshotMeta,
      identity:
        meta.memberId === null || meta.clusterId === null
          ? null
          : { memberId: meta.memberId, clusterId: meta.clusterId },
    };
    return this.recoveredInstall === null
      ? loaded
      : { ...loaded, recoveredInstall: this.recoveredInstall };
  }

  /**
   * Raft persistence for one Ready, in ONE batch, synced unless the caller
   * says the Ready does not need it (Ready.mustSync: only the commit index
   * changed, which a member can re-learn after a crash).
   * Entries must be contiguous and start within [firstIndex, lastIndex + 1];
   * starting at i <= lastIndex replaces the tail: records after the new
   * entries, up to the old lastIndex, are deleted in the same batch.
   */
  persistRaft(
    entries: readonly Entry[],
    hardState: HardState | null,
    options: {
      readonly sync?: boolean;
      /** Test-only planted bug (--unsafe no-fsync): lets entries be written unsynced. */
      readonly unsafeUnsyncedEntries?: boolean;
    } = {},
  ): Promise<void> {
    const sync = options.sync ?? true;
    assert(
      sync || entries.length === 0 || options.unsafeUnsyncedEntries === true,
      "log entries are always written synced",
    );
    return this.inLane("raft", "persistRaft", async () => {
      const batch = planRaftBatch(this.durableLog(), entries, hardState);
      if (batch.ops.length === 0) {
        return;
      }
      const startMs = performance.now();
      await this.write(batch.ops, sync, "persistRaft");
      const durationMs = performance.now() - startMs;
      this.lastIndex = batch.lastIndex;
      this.hardState = hardState ?? this.hardState;
      if (sync) this.onSync?.(durationMs, entries.length, batch.bytes);
    });
  }

  /** Synced: a conf change must survive a crash before the node acts on it. */
  setConfState(confState: ConfState): Promise<void> {
    return this.inLane("state", "setConfState", async () => {
      const key = metaKey("conf-state");
      await this.write([putOp(key, encodeConfState(key, confState))], true, "setConfState");
    });
  }

  /** Synced. Records who this member is, once, at its first start. */
  setIdentity(identity: MemberIdentity): Promise<void> {
    return this.inLane("state", "setIdentity", async () => {
      const memberKey = metaKey("member-id");
      const clusterKey = metaKey("cluster-id");
      await this.write(
        [
          putOp(memberKey, encodeCounter(memberKey, identity.memberId)),
          putOp(clusterKey, encodeCounter(clusterKey, identity.clusterId)),
        ],
        true,
        "setIdentity",
      );
    });
  }

  /** Synced. Records the snapshot the state now includes; indexes never go backwards. */
  setSnapshotMeta(meta: SnapshotMeta): Promise<void> {
    return this.inLane("state", "setSnapshotMeta", async () => {
      assert(
        meta.index >= this.snapshotIndex,
        `snapshot index ${meta.index} < ${this.snapshotIndex}`,
      );
      const key = metaKey("snapshot-meta");
      await this.write([putOp(key, encodeSnapshotMeta(key, meta))], true, "setSnapshotMeta");
      this.snapshotIndex = meta.index;
    });
  }

  /**
   * State machine results: the writes and the new applied index in ONE batch,
   * unsynced by default, so after a crash the state is exactly what the
   * recorded applied index says and the node replays the log from there.
   */
  applyState(
    writes: readonly StateWrite[],
    appliedIndex: LogIndex,
    options: ApplyStateOptions = {},
  ): Promise<void> {
    const body = async () => {
      assert(
        Number.isSafeInteger(appliedIndex),
        `applied index must be an integer: ${appliedIndex}`,
      );
      assert(
        appliedIndex > this.appliedIndex,
        `applied index ${appliedIndex} <= ${this.appliedIndex}`,
      );
      // Entries are applied only after they are durable (persist, send, apply), and
      // load() refuses an applied index beyond the log.
      assert(
        appliedIndex <= this.lastIndex,
        `applying ${appliedIndex} beyond log ${this.lastIndex}`,
      );
      const ops: BatchOp[] = [];
      for (const write of writes) {
        const key = stateKey(write.table, write.key);
        ops.push(write.value === null ? delOp(key) : putOp(key, frameBytes(key, write.value)));
      }
      const appliedKey = metaKey("applied-index");
      ops.push(putOp(appliedKey, encodeCounter(appliedKey, appliedIndex)));
      if (options.confState !== undefined) {
        // With the applied index, so a restart replays exactly the changes after it.
        const confKey = metaKey("conf-state");
        ops.push(putOp(confKey, encodeConfState(confKey, options.confState)));
      }
      const hardState = options.hardState;
      if (hardState !== undefined) {
        assert(
          hardState.term === this.hardState.term && hardState.vote === this.hardState.vote,
          "applyState writes only a newer commit index; term and vote go through persistRaft",
        );
        assert(
          hardState.commit >= this.hardState.commit && hardState.commit <= this.lastIndex,
          `commit ${hardState.commit} outside [${this.hardState.commit}, ${this.lastIndex}]`,
        );
        assert(
          appliedIndex <= hardState.commit,
          `applied index ${appliedIndex} beyond commit index ${hardState.commit}`,
        );
        const key = metaKey("hard-state");
        ops.push(putOp(key, encodeHardState(key, hardState)));
      }
      await this.write(ops, options.sync ?? false, "applyState");
      this.appliedIndex = appliedIndex;
      if (hardState !== undefined) this.hardState = hardState;
    };
    return options.hardState === undefined
      ? this.inLane("state", "applyState", body)
      : this.inLane("raft", "applyState", () => this.inLane("state", "applyState", body));
  }

  /**
   * Starts receiving a snapshot. Deletes whatever an earlier staging left (a
   * transfer that failed or was never installed), so a re-sent snapshot always
   * starts clean. `stagingId` is recorded in the install marker, for diagnosis.
   */
  beginSnapshotStaging(stagingId: number): Promise<void> {
    return this.inLane("stage", "beginSnapshotStaging", async () => {
      assert(
        Number.isSafeInteger(stagingId) && stagingId >= 0,
        `staging id must be a non-negative integer: ${stagingId}`,
      );
      this.stagingId = null;
      await this.clearStaged("beginSnapshotStaging");
      this.stagingId = stagingId;
    });
  }

  /**
   * One unsynced batch of staged rows. Unsynced is enough: the install's
   * synced marker makes them durable before anything depends on them.
   * Table names must be valid (keys.ts); the transport checks them on receipt.
   */
  stageRows(rows: readonly StagedRow[]): Promise<void> {
    return this.inLane("stage", "stageRows", async () => {
      assert(this.stagingId !== null, "stageRows() needs beginSnapshotStaging() first");
      if (rows.length === 0) return;
      await this.write(planStageBatch(rows), false, "stageRows");
    });
  }

  /** Deletes every staged row; safe to call when nothing is staged. */
  abortStaging(): Promise<void> {
    return this.inLane("stage", "abortStaging", async () => {
      this.stagingId = null;
      await this.clearStaged("abortStaging");
    });
  }

  /**
   * Replaces the state with the staged rows: every state row is deleted and
   * the staged rows take their place; applied index = meta.index; snapshot
   * meta and conf state = meta's; every log record is deleted and the log
   * restarts at meta.index + 1; the hard state's commit is raised to
   * meta.index (term and vote kept). Readers (exportState, iterateTable,
   * getState) that start meanwhile wait for it. A crash at any point leaves
   * the old state or, once the synced marker is written, an install that
   * load() completes. Needs every write lane idle.
   */
  installStagedSnapshot(meta: SnapshotMeta): Promise<void> {
    return this.exclusive("installStagedSnapshot", async () => {
      const stagingId = this.stagingId;
      assert(stagingId !== null, "installStagedSnapshot() needs a staged snapshot");
      this.checkInstallable(meta);
      await this.writeBehind?.flush();
      const writer = this.installWriter(true);
      await writer.write(markerOps(stagingId, meta), true, "install snapshot: mark");
      // From here on the staged rows belong to the install, even across a crash.
      this.stagingId = null;
      const marker = { phase: "clear", stagingId, meta } as const;
      this.hardState = await this.guardRead("installStagedSnapshot", (track) =>
        runInstall(this.db, writer, marker, this.hardState, track),
      );
      this.firstIndex = meta.index + 1;
      this.lastIndex = meta.index;
      this.appliedIndex = meta.index;
      this.snapshotIndex = meta.index;
    });
  }

  /**
   * Reads one table in key order, CRC-checking each record. Iterates a LevelDB
   * snapshot taken when iteration starts, so concurrent writes are not seen.
   */
  async *iterateTable(table: string): AsyncGenerator<[Uint8Array, Uint8Array], void, undefined> {
    assert(this.phase !== "closed", "iterateTable() on a closed store");
    await this.installing;
    await this.writeBehind?.flush();
    const range = stateTableRange(table);
    let key: Uint8Array | undefined;
    try {
      for await (const [recordKey, value] of this.db.iterator({ gte: range.gte, lt: range.lt })) {
        key = recordKey;
        const userValue = unframeBytes(recordKey, value);
        yield [recordKey.subarray(range.prefixBytes), userValue];
      }
    } catch (error) {
      throw this.readError(error, "iterateTable", key);
    }
  }

  /**
   * A consistent copy of the state machine: the applied index and every row
   * of the given tables, all read from ONE LevelDB snapshot. State rows and
   * the applied index are written in the same batch, so the copy is exactly
   * the state after that index. Rows are CRC-checked as they are read.
   */
  async *exportState(
    tables: readonly string[],
  ): AsyncGenerator<StateExportRecord, void, undefined> {
    assert(this.phase !== "closed", "exportState() on a closed store");
    await this.installing;
    await this.writeBehind?.flush();
    const snapshot = this.db.snapshot();
    let key: Uint8Array | undefined;
    try {
      const appliedKey = metaKey("applied-index");
      const applied = await this.db.get(appliedKey, { snapshot });
      yield {
        kind: "applied",
        appliedIndex: applied === undefined ? 0 : decodeCounter(appliedKey, applied),
      };
      for (const table of tables) {
        const range = stateTableRange(table);
        for await (const [recordKey, value] of this.db.iterator({
          gte: range.gte,
          lt: range.lt,
          snapshot,
        })) {
          key = recordKey;
          yield {
            kind: "row",
            table,
            key: recordKey.subarray(range.prefixBytes),
            value: unframeBytes(recordKey, value),
          };
        }
      }
    } catch (error) {
      throw this.readError(error, "exportState", key);
    } finally {
      await snapshot.close();
    }
  }

  async getState(table: string, key: Uint8Array): Promise<Uint8Array | undefined> {
    assert(this.phase !== "closed", "getState() on a closed store");
    await this.installing;
    const recordKey = stateKey(table, key);
    const value = await this.readRaw(recordKey, "getState");
    if (value === undefined) {
      return undefined;
    }
    try {
      return unframeBytes(recordKey, value);
    } catch (error) {
      throw this.readError(error, "getState", recordKey);
    }
  }

  /**
   * Deletes log entries with index < beforeIndex and records the new log start
   * in the same synced batch. Only applied entries may go; the caller must also
   * have made the state covering them durable (a snapshot, or applyState with
   * sync), because unsynced state is not guaranteed to outlive a power loss.
   */
  compactLog(beforeIndex: LogIndex): Promise<void> {
    return this.inLane("raft", "compactLog", async () => {
      assert(Number.isSafeInteger(beforeIndex), `compact index must be an integer: ${beforeIndex}`);
      assert(
        beforeIndex <= this.appliedIndex + 1,
        `cannot compact below ${beforeIndex}: only entries through ${this.appliedIndex} are applied`,
      );
      if (beforeIndex <= this.firstIndex) {
        return;
      }
      const ops: BatchOp[] = [];
      const deleteThrough = Math.min(beforeIndex - 1, this.lastIndex);
      for (let index = this.firstIndex; index <= deleteThrough; index++) {
        ops.push(delOp(logKey(index)));
      }
      const startKey = metaKey("log-start");
      ops.push(putOp(startKey, encodeCounter(startKey, beforeIndex)));
      await this.write(ops, true, "compactLog");
      this.firstIndex = beforeIndex;
      this.lastIndex = Math.max(this.lastIndex, beforeIndex - 1);
    });
  }

  /**
   * Bytes the data dir occupies on disk (LevelDB tables, write-ahead log and
   * manifest). Deleted records only stop counting once LevelDB compacts them.
   */
  /**
   * Maintenance.Defragment: LevelDB compacts every level over the whole key
   * space, dropping deleted and overwritten records. Returns the directory
   * size before and after.
   */
  async defragment(): Promise<{ beforeBytes: number; afterBytes: number }> {
    assert(this.phase !== "closed", "defragment() on a closed store");
    const beforeBytes = await dirSizeBytes(this.dataDir);
    await this.db.compactRange(new Uint8Array([0]), new Uint8Array([0xff, 0xff]));
    return { beforeBytes, afterBytes: await dirSizeBytes(this.dataDir) };
  }

  approximateSizeBytes(): Promise<number> {
    assert(this.phase !== "closed", "approximateSizeBytes() on a closed store");
    return dirSizeBytes(this.dataDir);
  }

  /** True after a failed write, until reopen() succeeds. */
  get needsReopen(): boolean {
    return this.writeFailure !== null;
  }

  /**
   * Closes and reopens LevelDB after a failed write, so it recovers from its
   * write-ahead log (dropping a record the failure left torn) before anything
   * is written again. Tested against a real full file system: without this,
   * writes that succeeded after the failure were gone after the next restart.
   * Throws (and leaves the store needing a reopen) when LevelDB cannot open,
   * e.g. because the disk is still too full for its recovery.
   */
  async reopen(): Promise<void> {
    assert(this.phase === "loaded", `reopen() needs a loaded store; it is ${this.phase}`);
    const busy = this.inFlight.raft ?? this.inFlight.state;
    assert(busy === null, `reopen() while ${busy}() is in flight: await it first`);
    // A close after a failed write may itself report that failure; the open is what counts.
    await this.db.close().catch(() => undefined);
    try {
      await this.db.open();
    } catch (error) {
      // Writes to a closed LevelDB would fail as "not open"; they repeat this instead.
      this.writeFailure = fromLevelError(error, this.dataDir, "reopen");
      throw this.writeFailure;
    }
    this.writeFailure = null;
  }

  async close(): Promise<void> {
    if (this.phase === "closed") {
      return;
    }
    this.phase = "closed";
    try {
      // A clean shutdown writes the page cache back, as the OS would.
      await this.writeBehind?.close();
      await this.db.close();
    } catch (error) {
      throw fromLevelError(error, this.dataDir, "close");
    }
  }

  private async checkFormatVersion(): Promise<void> {
    const key = metaKey("format-version");
    const value = await this.readRaw(key, "open");
    if (value === undefined) {
      if (!(await this.isEmpty())) {
        throw new CorruptRecordError(
          this.dataDir,
          describeKey(key),
          "missing, yet the data dir holds cairn records",
        );
      }
      await this.write([putOp(key, encodeCounter(key, STORAGE_FORMAT_VERSION))], true, "init");
      return;
    }
    let version: number;
    try {
      version = decodeCounter(key, value);
    } catch (error) {
      throw this.readError(error, "open", key);
    }
    if (version !== STORAGE_FORMAT_VERSION) {
      throw new UnsupportedFormatError(this.dataDir, version, STORAGE_FORMAT_VERSION);
    }
  }

  /** Raft restores only snapshots beyond its commit; anything else is a shell bug. */
  private checkInstallable(meta: SnapshotMeta): void {
    assert(
      Number.isSafeInteger(meta.index) && meta.index >= 1 && meta.term >= 1,
      `snapshot meta needs index and term >= 1: index ${meta.index}, term ${meta.term}`,
    );
    assert(
      meta.index >= this.appliedIndex && meta.index >= this.snapshotIndex,
      `snapshot at ${meta.index} is behind applied ${this.appliedIndex} / snapshot ${this.snapshotIndex}`,
    );
    assert(
      this.hardState.commit <= meta.index,
      `snapshot at ${meta.index} is behind the durable commit ${this.hardState.commit}`,
    );
  }

  /**
   * At load: finish an install a crash interrupted (its marker is present),
   * or drop staged rows no install claimed. Returns the meta as now on disk.
   */
  private async recoverStaging(meta: LoadedMeta): Promise<LoadedMeta> {
    const marker = meta.installMarker;
    if (marker === null) {
      await this.clearStaged("load: drop unclaimed staged rows");
      return meta;
    }
    const writer = this.installWriter(true);
    await this.guardRead("load: finish snapshot install", (track) =>
      runInstall(this.db, writer, marker, meta.hardState ?? EMPTY_HARD_STATE, track),
    );
    this.recoveredInstall = { stagingId: marker.stagingId, meta: marker.meta };
    return this.guardRead("load meta", (track) => readMeta(this.db, track));
  }

  private async clearStaged(operation: string): Promise<number> {
    await this.writeBehind?.flush();
    const writer = this.installWriter(false);
    return this.guardRead(operation, () => clearRange(this.db, writer, STAGE_RANGE, operation));
  }

  private installWriter(withTestCrash: boolean): InstallWriter {
    const { options } = this;
    return new InstallWriter(
      // Installs read back what they write: never through the write-behind queue.
      (ops, sync, operation) => this.write(ops, sync, operation, true),
      {
        batchOpsMax: options.installBatchOpsMax ?? INSTALL_BATCH_OPS_MAX_DEFAULT,
        batchBytesMax: options.installBatchBytesMax ?? INSTALL_BATCH_BYTES_MAX_DEFAULT,
      },
      withTestCrash ? options.testInstallCrashAfterBatches : undefined,
    );
  }

  private durableLog(): DurableLog {
    return { firstIndex: this.firstIndex, lastIndex: this.lastIndex, hardState: this.hardState };
  }

  /** Runs with every lane held; readers that start meanwhile wait until it settles. */
  private async exclusive<T>(operation: string, body: () => Promise<T>): Promise<T> {
    assert(
      this.phase === "loaded",
      `${operation}() needs an open, loaded store; it is ${this.phase}`,
    );
    for (const lane of WRITE_LANES) {
      const busy = this.inFlight[lane];
      assert(busy === null, `${operation}() called while ${busy}() is in flight: await it first`);
    }
    for (const lane of WRITE_LANES) this.inFlight[lane] = operation;
    const run = body();
    this.installing = run.then(
      () => undefined,
      () => undefined,
    );
    try {
      return await run;
    } finally {
      for (const lane of WRITE_LANES) this.inFlight[lane] = null;
      this.installing = null;
    }
  }

  private async inLane<T>(lane: WriteLane, operation: string, body: () => Promise<T>): Promise<T> {
    assert(
      this.phase === "loaded",
      `${operation}() needs an open, loaded store; it is ${this.phase}`,
    );
    const busy = this.inFlight[lane];
    assert(busy === null, `${operation}() called while ${busy}() is in flight: await it first`);
    this.inFlight[lane] = operation;
    try {
      return await body();
    } finally {
      this.inFlight[lane] = null;
    }
  }

  private async write(
    ops: readonly BatchOp[],
    sync: boolean,
    operation: string,
    writeThrough = false,
  ): Promise<void> {
    if (this.writeFailure !== null) throw this.writeFailure;
    try {
      const injected = this.faults?.beforeWrite(operation) ?? null;
      if (injected !== null) throw injected;
      if (this.writeBehind !== null) {
        if (!sync && !writeThrough) {
          await this.writeBehind.add(ops);
          return;
        }
        // fsync writes back the earlier unsynced pages too.
        await this.writeBehind.flush();
      }
      await this.db.batch(ops as BatchOp[], { sync });
    } catch (error) {
      this.writeFailure = fromLevelError(error, this.dataDir, operation);
      throw this.writeFailure;
    }
  }

  private async readRaw(key: Uint8Array, operation: string): Promise<Uint8Array | undefined> {
    try {
      return await this.db.get(key);
    } catch (error) {
      throw fromLevelError(error, this.dataDir, operation);
    }
  }

  private async isEmpty(): Promise<boolean> {
    try {
      const keys = await this.db.keys({ gte: ALL_RANGE.gte, lt: ALL_RANGE.lt, limit: 1 }).all();
      return keys.length === 0;
    } catch (error) {
      throw fromLevelError(error, this.dataDir, "open");
    }
  }

  /**
   * Runs a scan, giving it `track` to note the key it is on, so a failure can
   * name the record it happened at.
   */
  private async guardRead<T>(
    operation: string,
    scan: (track: (key: Uint8Array) => void) => Promise<T>,
  ): Promise<T> {
    let key: Uint8Array | undefined;
    try {
      return await scan((current) => {
        key = current;
      });
    } catch (error) {
      throw this.readError(error, operation, key);
    }
  }

  private readError(error: unknown, operation: string, key: Uint8Array | undefined): Error {
    if (error instanceof RecordDecodeError) {
      return new CorruptRecordError(this.dataDir, describeKey(key), error.message, {
        cause: error,
      });
    }
    if (error instanceof AssertionError || error instanceof SimulatedCrashError) {
      return error;
    }
    return fromLevelError(error, this.dataDir, operation);
  }
}
