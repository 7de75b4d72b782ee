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
//
// Rules the node's loop relies on:
// 1. `load()` runs once, after `open()` and before any write.
// 2. Writes go through two lanes, each with at most one call in flight
//    (asserted): the raft lane (persistRaft, compactLog) owns the log bounds
//    and hard state; the state lane (applyState, setConfState, setSnapshotMeta)
//    owns the applied index and the records the state machine depends on.
//    The lanes write disjoint keys, so the loop may apply while it persists.
// 3. After any write fails, every later write fails with the same error until
//    reopen() succeeds: LevelDB may have left a torn record in its write-ahead
//    log, and writing on after it can lose later writes at the next recovery.

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
import { ALL_RANGE, describeKey, logKey, metaKey, stateKey, stateTableRange } from "./keys.js";
import { checkLogShape, readLog, readMeta } from "./loader.js";
import {
  decodeCounter,
  encodeConfState,
  encodeCounter,
  encodeSnapshotMeta,
} from "./meta-record.js";
import { type DurableLog, planRaftBatch } from "./raft-batch.js";
import { frameBytes, RecordDecodeError, unframeBytes } from "./record-codec.js";

/** Bumped when the key layout or a record encoding changes incompatibly. */
export const STORAGE_FORMAT_VERSION = 1;

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
}

/** Told about every synced persistRaft batch; `bytes` counts encoded keys and values written. */
export type SyncObserver = (durationMs: number, entries: number, bytes: number) => void;

/** Test-only fault injection: an Error returned fails the batch as if LevelDB had. */
export interface DiskWriteFaults {
  beforeWrite(operation: string): Error | null;
}

export interface DiskStoreOptions {
  readonly onSync?: SyncObserver;
  readonly faults?: DiskWriteFaults;
}

export interface ApplyStateOptions {
  /** fsync this batch, e.g. before compacting the log entries it covers. Default false. */
  readonly sync?: boolean;
}

type Db = ClassicLevel<Uint8Array, Uint8Array>;
type WriteLane = "raft" | "state";
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
  private readonly inFlight: Record<WriteLane, string | null> = { raft: null, state: null };
  // Mirrors of what is on disk, valid once loaded. Invariant: firstIndex - 1 <= lastIndex,
  // and every index in [firstIndex, lastIndex] has a log record.
  private firstIndex: LogIndex = 1;
  private lastIndex: LogIndex = 0;
  private hardState: HardState = EMPTY_HARD_STATE;
  private appliedIndex: LogIndex = 0;
  private snapshotIndex: LogIndex = 0;

  private constructor(db: Db, dataDir: string, options: DiskStoreOptions) {
    this.db = db;
    this.dataDir = dataDir;
    this.onSync = options.onSync;
    this.faults = options.faults;
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
    const meta = await this.guardRead("load meta", (track) => readMeta(this.db, track));
    const entries = await this.guardRead("load log", (track) => readLog(this.db, track));
    const firstIndex = meta.logStart ?? 1;
    const lastIndex = checkLogShape(this.dataDir, entries, firstIndex, meta);
    this.firstIndex = firstIndex;
    this.lastIndex = lastIndex;
    this.hardState = meta.hardState ?? EMPTY_HARD_STATE;
    this.appliedIndex = meta.appliedIndex;
    this.snapshotIndex = meta.snapshotMeta?.index ?? 0;
    this.phase = "loaded";
    return {
      hardState: this.hardState,
      confState: meta.confState,
      appliedIndex: meta.appliedIndex,
      firstIndex,
      entries,
      snapshotMeta: meta.snapshotMeta,
    };
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
    options: { readonly sync?: boolean } = {},
  ): Promise<void> {
    const sync = options.sync ?? true;
    assert(sync || entries.length === 0, "log entries are always written synced");
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
    return this.inLane("state", "applyState", async () => {
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
      await this.write(ops, options.sync ?? false, "applyState");
      this.appliedIndex = appliedIndex;
    });
  }

  /**
   * Reads one table in key order, CRC-checking each record. Iterates a LevelDB
   * snapshot taken when iteration starts, so concurrent writes are not seen.
   */
  async *iterateTable(table: string): AsyncGenerator<[Uint8Array, Uint8Array], void, undefined> {
    assert(this.phase !== "closed", "iterateTable() on a closed store");
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

  private durableLog(): DurableLog {
    return { firstIndex: this.firstIndex, lastIndex: this.lastIndex, hardState: this.hardState };
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

  private async write(ops: readonly BatchOp[], sync: boolean, operation: string): Promise<void> {
    if (this.writeFailure !== null) throw this.writeFailure;
    try {
      const injected = this.faults?.beforeWrite(operation) ?? null;
      if (injected !== null) throw injected;
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
    if (error instanceof AssertionError) {
      return error;
    }
    return fromLevelError(error, this.dataDir, operation);
  }
}
