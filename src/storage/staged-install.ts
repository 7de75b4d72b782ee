// Installing a received snapshot without one giant batch, crash-safe at every
// step. Rows arrive in unsynced batches under the staging prefix (keys.ts
// KEY_TAG_STAGE). Once all are staged, a synced marker record names the target
// snapshot; from then on the install only moves forward and every step is
// idempotent, so DiskStore.load() can finish an install a crash interrupted:
//
//   1. marker{phase: clear}                      synced; the commit point
//   2. delete every state row and log record     bounded unsynced batches
//   3. marker{phase: move}                       synced
//   4. move staged rows into the state range     bounded unsynced batches (put + del)
//   5. applied index, snapshot meta, conf state, log start, hard state; delete marker
//                                                ONE synced batch
//
// Without a marker, staged rows are garbage from a transfer that never finished
// and load() deletes them. Phases 2 and 4 cannot be merged: a crash during a
// merged pass could not tell moved rows from old ones.
//
// Durability rests on the rule the rest of the store uses: a synced LevelDB
// write also makes every earlier write durable (one append-only WAL).

import type { ClassicLevel } from "classic-level";
import type { HardState, SnapshotMeta } from "../raft/types.js";
import { assert } from "../util/assert.js";
import { type BatchOp, delOp, putOp } from "./batch-op.js";
import { encodeInstallMarker, type InstallMarker } from "./install-marker.js";
import {
  type KeyRange,
  LOG_RANGE,
  metaKey,
  STAGE_RANGE,
  STATE_RANGE,
  stageKey,
  stateKeyOfStageKey,
} from "./keys.js";
import {
  encodeConfState,
  encodeCounter,
  encodeHardState,
  encodeSnapshotMeta,
} from "./meta-record.js";
import { frameBytes, unframeBytes } from "./record-codec.js";

type Db = ClassicLevel<Uint8Array, Uint8Array>;

/** One row of a received snapshot, as the transport hands it over. */
export interface StagedRow {
  readonly table: string;
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** Bounds on each batch the install and staging cleanup write. */
export interface InstallBatching {
  readonly batchOpsMax: number;
  readonly batchBytesMax: number;
}

export const INSTALL_BATCH_OPS_MAX_DEFAULT = 2_048;
export const INSTALL_BATCH_BYTES_MAX_DEFAULT = 4 * 1024 * 1024;

/** Test hook only: the install stopped on purpose, as if the process died there. */
export class SimulatedCrashError extends Error {
  override readonly name = "SimulatedCrashError";
  constructor(readonly batchesWritten: number) {
    super(`simulated crash after ${batchesWritten} install batches`);
  }
}

type WriteBatch = (ops: readonly BatchOp[], sync: boolean, operation: string) => Promise<void>;

/**
 * The store's write path for one install, counting batches so a test can stop
 * it after exactly `crashAfterBatches` of them.
 */
export class InstallWriter {
  private batches = 0;

  constructor(
    private readonly writeBatch: WriteBatch,
    readonly batching: InstallBatching,
    private readonly crashAfterBatches: number | undefined,
  ) {
    assert(batching.batchOpsMax >= 2, "an install batch holds at least a put and a delete");
    assert(batching.batchBytesMax > 0, "install batch bytes bound must be positive");
  }

  async write(ops: readonly BatchOp[], sync: boolean, operation: string): Promise<void> {
    if (this.crashAfterBatches !== undefined && this.batches >= this.crashAfterBatches) {
      throw new SimulatedCrashError(this.batches);
    }
    await this.writeBatch(ops, sync, operation);
    this.batches += 1;
  }
}

/** Puts for one staging batch; values CRC-framed under their staging key. */
export function planStageBatch(rows: readonly StagedRow[]): BatchOp[] {
  return rows.map((row) => {
    const key = stageKey(row.table, row.key);
    return putOp(key, frameBytes(key, row.value));
  });
}

/** Collects ops and writes them whenever a bound is reached. */
class BoundedBatch {
  private ops: BatchOp[] = [];
  private bytes = 0;

  constructor(
    private readonly writer: InstallWriter,
    private readonly operation: string,
  ) {}

  async add(ops: readonly BatchOp[], bytes: number): Promise<void> {
    this.ops.push(...ops);
    this.bytes += bytes;
    const { batchOpsMax, batchBytesMax } = this.writer.batching;
    if (this.ops.length + 2 > batchOpsMax || this.bytes >= batchBytesMax) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.ops.length === 0) return;
    const ops = this.ops;
    this.ops = [];
    this.bytes = 0;
    await this.writer.write(ops, false, this.operation);
  }
}

/** Deletes every key in `range`, in bounded unsynced batches. Returns how many. */
export async function clearRange(
  db: Db,
  writer: InstallWriter,
  range: KeyRange,
  operation: string,
): Promise<number> {
  const batch = new BoundedBatch(writer, operation);
  let deleted = 0;
  // One iterator for the whole pass: it reads from the snapshot taken when it
  // opened, so it never rescans the tombstones our own deletes leave behind.
  for await (const key of db.keys({ gte: range.gte, lt: range.lt })) {
    await batch.add([delOp(key)], key.byteLength);
    deleted += 1;
  }
  await batch.flush();
  return deleted;
}

/**
 * Runs (or, after a crash, resumes) the install `marker` describes, from its
 * phase onward. `hardState` is the durable one; the result is what is on disk after.
 * `track` is told each staged key before it is read, so a bad record can be named.
 */
export async function runInstall(
  db: Db,
  writer: InstallWriter,
  marker: InstallMarker,
  hardState: HardState,
  track: (key: Uint8Array) => void,
): Promise<HardState> {
  const markerKey = metaKey("snapshot-install");
  if (marker.phase === "clear") {
    await clearRange(db, writer, STATE_RANGE, "install snapshot: clear state");
    await clearRange(db, writer, LOG_RANGE, "install snapshot: clear log");
    const moving: InstallMarker = { ...marker, phase: "move" };
    await writer.write(
      [putOp(markerKey, encodeInstallMarker(markerKey, moving))],
      true,
      "install snapshot: mark move",
    );
  }
  await moveStagedRows(db, writer, track);
  const installed = installedHardState(hardState, marker.meta);
  await writer.write(finalOps(marker.meta, installed), true, "install snapshot: finish");
  return installed;
}

/** Every staged row becomes a state row: re-framed, since the CRC covers the key. */
async function moveStagedRows(
  db: Db,
  writer: InstallWriter,
  track: (key: Uint8Array) => void,
): Promise<void> {
  const batch = new BoundedBatch(writer, "install snapshot: move rows");
  for await (const [staged, value] of db.iterator({ gte: STAGE_RANGE.gte, lt: STAGE_RANGE.lt })) {
    track(staged);
    const key = stateKeyOfStageKey(staged);
    const framed = frameBytes(key, unframeBytes(staged, value));
    await batch.add([putOp(key, framed), delOp(staged)], 2 * (key.byteLength + framed.byteLength));
  }
  await batch.flush();
}

/** Term and vote stay (Raft's own Ready updates them); commit covers the snapshot. */
export function installedHardState(hardState: HardState, meta: SnapshotMeta): HardState {
  return { ...hardState, commit: Math.max(hardState.commit, meta.index) };
}

function finalOps(meta: SnapshotMeta, hardState: HardState): BatchOp[] {
  const applied = metaKey("applied-index");
  const snapshot = metaKey("snapshot-meta");
  const conf = metaKey("conf-state");
  const logStart = metaKey("log-start");
  const hard = metaKey("hard-state");
  return [
    putOp(applied, encodeCounter(applied, meta.index)),
    putOp(snapshot, encodeSnapshotMeta(snapshot, meta)),
    putOp(conf, encodeConfState(conf, meta.confState)),
    putOp(logStart, encodeCounter(logStart, meta.index + 1)),
    putOp(hard, encodeHardState(hard, hardState)),
    delOp(metaKey("snapshot-install")),
  ];
}

/** The synced batch that commits to installing: after it, load() finishes the install. */
export function markerOps(stagingId: number, meta: SnapshotMeta): BatchOp[] {
  const key = metaKey("snapshot-install");
  return [putOp(key, encodeInstallMarker(key, { phase: "clear", stagingId, meta }))];
}
