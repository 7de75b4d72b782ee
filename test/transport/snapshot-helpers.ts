// Fixtures for snapshot transfer tests: a deterministic state export, a
// recording SnapshotHandler with optional slowness, and the meta builder.

import { createHash } from "node:crypto";
import type { LogIndex, SnapshotMeta } from "../../src/raft/types.js";
import type { SnapshotHeader, SnapshotRow } from "../../src/transport/snapshot-codec.js";
import type { SnapshotHandler, SnapshotTotals } from "../../src/transport/snapshot-receiver.js";
import type { SnapshotSourceRecord } from "../../src/transport/snapshot-sender.js";
import { sleep } from "./helpers.js";

export const TABLES = ["kv", "lease", "users"] as const;

/** Deterministic rows of about `valueBytes` each, spread over TABLES. */
export function makeRows(count: number, valueBytes = 200): SnapshotRow[] {
  const rows: SnapshotRow[] = [];
  for (let i = 0; i < count; i++) {
    const seed = createHash("sha256").update(`row ${i}`).digest();
    const value = Buffer.alloc(valueBytes + (i % 17));
    for (let at = 0; at < value.byteLength; at += seed.byteLength) seed.copy(value, at);
    rows.push({
      table: TABLES[i % TABLES.length]!,
      key: Buffer.from(`key-${String(i).padStart(6, "0")}`),
      value,
    });
  }
  return rows;
}

export async function* exportOf(
  appliedIndex: LogIndex,
  rows: readonly SnapshotRow[],
): AsyncGenerator<SnapshotSourceRecord, void, undefined> {
  yield { kind: "applied", appliedIndex };
  for (const row of rows) yield { kind: "row", ...row };
}

export function metaAt(index: LogIndex): SnapshotMeta {
  return { index, term: 2, confState: { voters: [1, 2, 3], learners: [] } };
}

/** Comparable form of rows: table, key and value as hex. */
export function plainRows(rows: readonly SnapshotRow[]): string[] {
  return rows.map(
    (r) =>
      `${r.table}/${Buffer.from(r.key).toString("hex")}=${Buffer.from(r.value).toString("hex")}`,
  );
}

/** Records every call; rows are copied because the receiver hands out views of its chunk. */
export class RecordingHandler implements SnapshotHandler {
  readonly events: string[] = [];
  staged: SnapshotRow[] = [];
  headers: SnapshotHeader[] = [];
  totals: SnapshotTotals | null = null;
  stageDelayMs = 0;
  beginDelayMs = 0;
  refuse: string | null = null;
  /** Called at the start of each stage() with how many chunks were staged before it. */
  onStage: ((chunksStagedBefore: number) => void) | null = null;
  private chunksStaged = 0;

  async begin(header: SnapshotHeader): Promise<void> {
    this.events.push(`begin ${header.transferId}`);
    this.headers.push(header);
    if (this.beginDelayMs > 0) await sleep(this.beginDelayMs);
    if (this.refuse !== null) throw new Error(this.refuse);
    this.staged = [];
    this.chunksStaged = 0;
  }

  async stage(_header: SnapshotHeader, rows: readonly SnapshotRow[]): Promise<void> {
    this.onStage?.(this.chunksStaged);
    if (this.stageDelayMs > 0) await sleep(this.stageDelayMs);
    for (const row of rows) {
      this.staged.push({
        table: row.table,
        key: Buffer.from(row.key),
        value: Buffer.from(row.value),
      });
    }
    this.chunksStaged += 1;
  }

  async complete(header: SnapshotHeader, totals: SnapshotTotals): Promise<void> {
    this.events.push(`complete ${header.transferId}`);
    this.totals = totals;
  }

  async abort(header: SnapshotHeader, reason: Error): Promise<void> {
    this.events.push(`abort ${header.transferId}: ${reason.message}`);
    this.staged = [];
  }
}
