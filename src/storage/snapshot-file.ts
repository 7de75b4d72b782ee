// The file `Maintenance.Snapshot` streams (what `etcdctl snapshot save`
// writes): a magic header, the applied index, every state row, and a SHA-256
// of everything before it, so a truncated or corrupted copy is refused on
// restore instead of silently restoring part of a cluster.
//   "CAIRNSNAP" 0x01 | applied u64 | { 0x01 | tableLen u8 | table | keyLen u32 | key | valueLen u32 | value }* | 0x00
//   | zero padding to a multiple of 512 bytes | sha256 (of everything before it)
// The padding is for etcdctl: `etcdctl snapshot save` (3.4 and later) refuses
// a download unless its size is 32 more than a multiple of 512, the shape of
// etcd's own snapshots (a bbolt file of whole pages plus a SHA-256). Files
// written before the padding existed still decode.
import { createHash, type Hash } from "node:crypto";
import { assert } from "../util/assert.js";
import type { StateExportRecord } from "./disk-store.js";

const MAGIC = Buffer.from("CAIRNSNAP\x01", "latin1");
const ROW = 0x01;
const END = 0x00;
const DIGEST_BYTES = 32;
/** The body (everything before the digest) is a whole number of these; see the header. */
const BODY_ALIGN_BYTES = 512;

export class SnapshotFileError extends Error {
  override readonly name = "SnapshotFileError";
}

/** Encodes export records into byte chunks of about chunkBytes, ending with the digest. */
export async function* encodeSnapshot(
  records: AsyncIterable<StateExportRecord>,
  chunkBytes: number,
): AsyncGenerator<Buffer, void, undefined> {
  assert(chunkBytes >= 1024, "snapshot chunks are at least 1 KiB");
  const hash: Hash = createHash("sha256");
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let bodyBytes = 0;
  const push = (part: Buffer): Buffer | null => {
    hash.update(part);
    pending.push(part);
    pendingBytes += part.byteLength;
    bodyBytes += part.byteLength;
    if (pendingBytes < chunkBytes) return null;
    const chunk = Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    return chunk;
  };
  let sawApplied = false;
  for await (const record of records) {
    let chunk: Buffer | null;
    if (record.kind === "applied") {
      assert(!sawApplied, "one applied index per snapshot");
      sawApplied = true;
      const applied = Buffer.alloc(8);
      applied.writeBigUInt64BE(BigInt(record.appliedIndex));
      chunk = push(Buffer.concat([MAGIC, applied]));
    } else {
      assert(sawApplied, "the applied index comes before the rows");
      chunk = push(encodeRow(record.table, record.key, record.value));
    }
    if (chunk !== null) yield chunk;
  }
  assert(sawApplied, "a snapshot holds an applied index");
  // push() hands back a full chunk whenever one fills up: the end marker and
  // the padding can fill one too, and dropping it would lose bytes.
  const endChunk = push(Buffer.from([END]));
  if (endChunk !== null) yield endChunk;
  const padding = (BODY_ALIGN_BYTES - (bodyBytes % BODY_ALIGN_BYTES)) % BODY_ALIGN_BYTES;
  const paddingChunk = push(Buffer.alloc(padding));
  if (paddingChunk !== null) yield paddingChunk;
  pending.push(hash.digest());
  yield Buffer.concat(pending);
}

function encodeRow(table: string, key: Uint8Array, value: Uint8Array): Buffer {
  const name = Buffer.from(table, "latin1");
  const head = Buffer.alloc(2 + name.byteLength + 4);
  head[0] = ROW;
  head[1] = name.byteLength;
  name.copy(head, 2);
  head.writeUInt32BE(key.byteLength, 2 + name.byteLength);
  const valueLength = Buffer.alloc(4);
  valueLength.writeUInt32BE(value.byteLength);
  return Buffer.concat([head, key, valueLength, value]);
}

export interface DecodedSnapshot {
  readonly appliedIndex: number;
  readonly rows: ReadonlyArray<{ table: string; key: Buffer; value: Buffer }>;
}

/** Decodes and verifies a whole snapshot file; any damage is a SnapshotFileError naming where. */
export function decodeSnapshot(file: Buffer): DecodedSnapshot {
  if (
    file.byteLength < MAGIC.byteLength + 8 + 1 + DIGEST_BYTES ||
    !file.subarray(0, MAGIC.byteLength).equals(MAGIC)
  ) {
    throw new SnapshotFileError(
      "not a cairn snapshot file (bad header); was it saved from a cairn member?",
    );
  }
  const body = file.subarray(0, file.byteLength - DIGEST_BYTES);
  const digest = createHash("sha256").update(body).digest();
  if (!digest.equals(file.subarray(file.byteLength - DIGEST_BYTES))) {
    throw new SnapshotFileError("snapshot checksum mismatch: the file is truncated or corrupted");
  }
  const appliedIndex = Number(body.readBigUInt64BE(MAGIC.byteLength));
  const rows: Array<{ table: string; key: Buffer; value: Buffer }> = [];
  let at = MAGIC.byteLength + 8;
  while (body[at] === ROW) {
    const nameLength = body[at + 1] as number;
    const table = body.toString("latin1", at + 2, at + 2 + nameLength);
    at += 2 + nameLength;
    const keyLength = body.readUInt32BE(at);
    const key = body.subarray(at + 4, at + 4 + keyLength);
    at += 4 + keyLength;
    const valueLength = body.readUInt32BE(at);
    const value = body.subarray(at + 4, at + 4 + valueLength);
    at += 4 + valueLength;
    rows.push({ table, key, value });
  }
  if (body[at] !== END || !isPadding(body.subarray(at + 1))) {
    throw new SnapshotFileError(`snapshot record ${rows.length} at byte ${at} is malformed`);
  }
  return { appliedIndex, rows };
}

function isPadding(tail: Buffer): boolean {
  return tail.byteLength < BODY_ALIGN_BYTES && tail.every((byte) => byte === 0);
}
