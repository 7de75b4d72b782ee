// Wire format of InstallSnapshot (proto/raft.proto, SnapshotChunk/SnapshotAck):
// chunk and ack framing, the packed row format inside a rows chunk, and the
// MsgSnap a follower steps once a transfer is staged. Encoding trusts our own
// data (bad values are bugs → assert); decoding trusts nothing.
//
//   encodeChunk(chunk) / decodeChunk(bytes, expectedSeq)    SnapshotChunk ↔ bytes
//   encodeSnapshotAck(ack) / decodeSnapshotAck(bytes)       SnapshotAck ↔ bytes
//   RowPacker                                               rows → rows-chunk payloads
//   unpackRows(data, rowCount, seq)                         rows-chunk payload → rows
//   snapshotMessage(header)                                 header → MsgSnap for the core

import { crc32 } from "node:zlib";
import { cairn } from "../gen/raft.js";
import { emptyMessage, type Message, type NodeId, type SnapshotMeta } from "../raft/types.js";
import { assert, assertNever } from "../util/assert.js";
import { wireUint } from "./codec.js";
import { WireFormatError } from "./errors.js";
import { SnapshotChunkError } from "./snapshot-errors.js";

const wire = cairn.raft.v1;

/** Who sends which state to whom; `meta.index` is the applied index of the rows. */
export interface SnapshotHeader {
  readonly clusterId: number;
  readonly from: NodeId;
  readonly to: NodeId;
  /** The sender's term: the term of the MsgSnap the receiver steps. */
  readonly term: number;
  readonly transferId: number;
  readonly meta: SnapshotMeta;
}

/** One state table row. Structurally DiskStore's StagedRow and StateExportRecord's rows. */
export interface SnapshotRow {
  readonly table: string;
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

export type SnapshotChunk =
  | { readonly kind: "header"; readonly seq: number; readonly header: SnapshotHeader }
  | {
      readonly kind: "rows";
      readonly seq: number;
      readonly data: Uint8Array;
      readonly rowCount: number;
      readonly crc32: number;
    }
  | {
      readonly kind: "trailer";
      readonly seq: number;
      readonly rowCount: number;
      readonly rowsChunkCount: number;
      readonly sha256: Uint8Array;
    };

export interface SnapshotAck {
  /** Highest chunk the receiver has staged. */
  readonly seq: number;
  /** Sent once: the trailer checked out and the receiver took the snapshot. */
  readonly done: boolean;
  readonly rowsStaged: number;
}

/** Far above a 1 MiB target; a bigger chunk is a broken or hostile sender. */
export const SNAPSHOT_CHUNK_BYTES_MAX = 8 * 1024 * 1024;
/** A row must fit a chunk with room for its length fields. */
export const SNAPSHOT_ROW_BYTES_MAX = SNAPSHOT_CHUNK_BYTES_MAX - 1024;
const SHA256_BYTES = 32;

/** Same rule as src/storage/keys.ts TABLE_NAME_PATTERN, which asserts it: checked here at the trust boundary. */
const TABLE_NAME_PATTERN = /^[a-z][a-z0-9_.-]{0,62}$/;

export function crcOf(data: Uint8Array): number {
  return crc32(data);
}

// ---------------------------------------------------------------- encoding

function confToWire(meta: SnapshotMeta): cairn.raft.v1.SnapshotMeta.$Properties {
  return {
    index: meta.index,
    term: meta.term,
    confState: { voters: [...meta.confState.voters], learners: [...meta.confState.learners] },
  };
}

export function encodeChunk(chunk: SnapshotChunk): Uint8Array {
  assert(Number.isSafeInteger(chunk.seq) && chunk.seq >= 0, `bad chunk seq ${chunk.seq}`);
  switch (chunk.kind) {
    case "header": {
      const h = chunk.header;
      return wire.SnapshotChunk.encode({
        seq: chunk.seq,
        header: {
          clusterId: h.clusterId,
          from: h.from,
          to: h.to,
          term: h.term,
          transferId: h.transferId,
          meta: confToWire(h.meta),
        },
      }).finish();
    }
    case "rows":
      return wire.SnapshotChunk.encode({
        seq: chunk.seq,
        rows: { data: chunk.data, rowCount: chunk.rowCount, crc32: chunk.crc32 },
      }).finish();
    case "trailer":
      assert(chunk.sha256.byteLength === SHA256_BYTES, "trailer carries a SHA-256");
      return wire.SnapshotChunk.encode({
        seq: chunk.seq,
        trailer: {
          rowCount: chunk.rowCount,
          rowsChunkCount: chunk.rowsChunkCount,
          sha256: chunk.sha256,
        },
      }).finish();
    default:
      return assertNever(chunk, "snapshot chunk");
  }
}

export function encodeSnapshotAck(ack: SnapshotAck): Uint8Array {
  return wire.SnapshotAck.encode({
    seq: ack.seq,
    done: ack.done,
    rowsStaged: ack.rowsStaged,
  }).finish();
}

/** Packs rows into payloads of about `targetBytes` (a bigger row gets a payload of its own). */
export class RowPacker {
  private parts: Uint8Array[] = [];
  private bytes = 0;
  private rows = 0;

  constructor(private readonly targetBytes: number) {
    assert(targetBytes > 0 && targetBytes <= SNAPSHOT_CHUNK_BYTES_MAX, "bad chunk target");
  }

  add(row: SnapshotRow): void {
    assert(TABLE_NAME_PATTERN.test(row.table), `bad table name "${row.table}"`);
    const rowBytes = 1 + row.table.length + 4 + row.key.byteLength + 4 + row.value.byteLength;
    assert(rowBytes <= SNAPSHOT_ROW_BYTES_MAX, `row of ${rowBytes} bytes does not fit a chunk`);
    const head = Buffer.allocUnsafe(1 + row.table.length + 4);
    head[0] = row.table.length;
    head.write(row.table, 1, "latin1");
    head.writeUInt32BE(row.key.byteLength, 1 + row.table.length);
    const valueLength = Buffer.allocUnsafe(4);
    valueLength.writeUInt32BE(row.value.byteLength);
    this.parts.push(head, row.key, valueLength, row.value);
    this.bytes += rowBytes;
    this.rows += 1;
  }

  get full(): boolean {
    return this.bytes >= this.targetBytes;
  }

  get empty(): boolean {
    return this.rows === 0;
  }

  /** The packed payload so far; the packer starts empty again. */
  take(): { readonly data: Buffer; readonly rowCount: number } {
    const taken = { data: Buffer.concat(this.parts, this.bytes), rowCount: this.rows };
    this.parts = [];
    this.bytes = 0;
    this.rows = 0;
    return taken;
  }
}

/** The message the follower's core steps once the rows are staged (its data stays empty). */
export function snapshotMessage(header: SnapshotHeader): Message {
  return {
    ...emptyMessage("MsgSnap", header.from, header.to, header.term),
    snapshot: { meta: header.meta, data: new Uint8Array(0) },
  };
}

// ---------------------------------------------------------------- decoding

function chunkError(seq: number, error: unknown): SnapshotChunkError {
  const reason = error instanceof Error ? error.message : String(error);
  return new SnapshotChunkError(seq, reason, { cause: error });
}

function headerFromWire(w: cairn.raft.v1.SnapshotHeader.$Properties): SnapshotHeader {
  const meta = w.meta;
  if (!meta) throw new WireFormatError("header.meta", "header.meta is required");
  const conf = meta.confState;
  if (!conf)
    throw new WireFormatError("header.meta.confState", "header.meta.confState is required");
  return {
    clusterId: wireUint(w.clusterId ?? 0, "header.clusterId"),
    from: wireUint(w.from ?? 0, "header.from"),
    to: wireUint(w.to ?? 0, "header.to"),
    term: wireUint(w.term ?? 0, "header.term"),
    transferId: wireUint(w.transferId ?? 0, "header.transferId"),
    meta: {
      index: wireUint(meta.index ?? 0, "header.meta.index"),
      term: wireUint(meta.term ?? 0, "header.meta.term"),
      confState: {
        voters: (conf.voters ?? []).map((id, i) => wireUint(id, `header.meta.voters[${i}]`)),
        learners: (conf.learners ?? []).map((id, i) => wireUint(id, `header.meta.learners[${i}]`)),
      },
    },
  };
}

/**
 * Decodes one chunk and checks it is the one expected next. Any failure is a
 * SnapshotChunkError naming `expectedSeq`, the chunk the receiver was waiting for.
 */
export function decodeChunk(bytes: Uint8Array, expectedSeq: number): SnapshotChunk {
  let w: cairn.raft.v1.SnapshotChunk;
  try {
    w = wire.SnapshotChunk.decode(bytes);
  } catch (error) {
    throw chunkError(expectedSeq, new Error(`undecodable protobuf (${String(error)})`));
  }
  let seq: number;
  try {
    seq = wireUint(w.seq ?? 0, "seq");
  } catch (error) {
    throw chunkError(expectedSeq, error);
  }
  if (seq !== expectedSeq) {
    throw new SnapshotChunkError(expectedSeq, `out of sequence: got chunk ${seq}`);
  }
  try {
    return chunkBodyFromWire(w, seq);
  } catch (error) {
    if (error instanceof SnapshotChunkError) throw error;
    throw chunkError(seq, error);
  }
}

function chunkBodyFromWire(w: cairn.raft.v1.SnapshotChunk, seq: number): SnapshotChunk {
  switch (w.body) {
    case "header":
      return { kind: "header", seq, header: headerFromWire(w.header ?? {}) };
    case "rows": {
      const rows = w.rows ?? {};
      const data = rows.data ?? new Uint8Array(0);
      if (data.byteLength > SNAPSHOT_CHUNK_BYTES_MAX) {
        throw new SnapshotChunkError(
          seq,
          `${data.byteLength} bytes, at most ${SNAPSHOT_CHUNK_BYTES_MAX}`,
        );
      }
      return {
        kind: "rows",
        seq,
        data,
        rowCount: wireUint(rows.rowCount ?? 0, "rows.rowCount"),
        crc32: wireUint(rows.crc32 ?? 0, "rows.crc32"),
      };
    }
    case "trailer": {
      const trailer = w.trailer ?? {};
      const sha256 = trailer.sha256 ?? new Uint8Array(0);
      if (sha256.byteLength !== SHA256_BYTES) {
        throw new SnapshotChunkError(seq, `trailer sha256 has ${sha256.byteLength} bytes, not 32`);
      }
      return {
        kind: "trailer",
        seq,
        rowCount: wireUint(trailer.rowCount ?? 0, "trailer.rowCount"),
        rowsChunkCount: wireUint(trailer.rowsChunkCount ?? 0, "trailer.rowsChunkCount"),
        sha256,
      };
    }
    default:
      throw new SnapshotChunkError(seq, "carries no header, rows or trailer");
  }
}

export function decodeSnapshotAck(bytes: Uint8Array): SnapshotAck {
  let w: cairn.raft.v1.SnapshotAck;
  try {
    w = wire.SnapshotAck.decode(bytes);
  } catch (error) {
    throw new WireFormatError(
      "snapshotAck",
      `snapshot ack: undecodable protobuf (${String(error)})`,
      {
        cause: error,
      },
    );
  }
  return {
    seq: wireUint(w.seq ?? 0, "snapshotAck.seq"),
    done: w.done === true,
    rowsStaged: wireUint(w.rowsStaged ?? 0, "snapshotAck.rowsStaged"),
  };
}

/**
 * Unpacks a rows chunk's payload (CRC already checked). Keys and values alias
 * `data`: the receiver stages them before the next chunk is read.
 */
export function unpackRows(data: Uint8Array, rowCount: number, seq: number): SnapshotRow[] {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const rows: SnapshotRow[] = [];
  let at = 0;
  const need = (bytes: number, what: string): void => {
    if (at + bytes > buffer.byteLength) {
      throw new SnapshotChunkError(
        seq,
        `row ${rows.length} at byte ${at}: ${what} runs past the end of the chunk (${buffer.byteLength} bytes)`,
      );
    }
  };
  while (at < buffer.byteLength) {
    need(1, "table name length");
    const nameBytes = buffer[at]!;
    need(1 + nameBytes + 4, "table name");
    const table = buffer.toString("latin1", at + 1, at + 1 + nameBytes);
    if (!TABLE_NAME_PATTERN.test(table)) {
      throw new SnapshotChunkError(
        seq,
        `row ${rows.length} at byte ${at}: bad table name "${table}"`,
      );
    }
    at += 1 + nameBytes;
    const keyBytes = buffer.readUInt32BE(at);
    at += 4;
    need(keyBytes + 4, "key");
    const key = buffer.subarray(at, at + keyBytes);
    at += keyBytes;
    const valueBytes = buffer.readUInt32BE(at);
    at += 4;
    need(valueBytes, "value");
    const value = buffer.subarray(at, at + valueBytes);
    at += valueBytes;
    rows.push({ table, key, value });
  }
  if (rows.length !== rowCount) {
    throw new SnapshotChunkError(seq, `holds ${rows.length} rows, its header says ${rowCount}`);
  }
  return rows;
}
