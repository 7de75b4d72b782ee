// Encoding of one raft log entry as a framed record (see record-codec.ts):
//
//   kind u8 | term u64 BE | index u64 BE | data (the rest of the payload)
//
// The index is stored as well as being the key so that decode can prove the
// record sits where it was written.

import type { Entry, EntryKind } from "../raft/types.js";
import { assert, assertNever } from "../util/assert.js";
import { logIndexOfKey } from "./keys.js";
import { FrameWriter, openFrame, RecordDecodeError } from "./record-codec.js";

/** kind + term + index. */
export const LOG_ENTRY_FIXED_PAYLOAD_BYTES = 17;

// Codes start at 1 so that a zeroed record never decodes as a valid kind.
const KIND_NORMAL = 1;
const KIND_CONF_CHANGE = 2;

function kindCode(kind: EntryKind): number {
  switch (kind) {
    case "normal":
      return KIND_NORMAL;
    case "conf-change":
      return KIND_CONF_CHANGE;
    default:
      return assertNever(kind, "entry kind");
  }
}

function kindOfCode(code: number): EntryKind {
  switch (code) {
    case KIND_NORMAL:
      return "normal";
    case KIND_CONF_CHANGE:
      return "conf-change";
    default:
      throw new RecordDecodeError(`unknown entry kind code ${code}`);
  }
}

export function encodeLogEntry(key: Uint8Array, entry: Entry): Uint8Array {
  assert(logIndexOfKey(key) === entry.index, `log key does not match entry index ${entry.index}`);
  assert(
    Number.isSafeInteger(entry.term) && entry.term >= 1,
    `entry term must be >= 1: ${entry.term}`,
  );
  return new FrameWriter(LOG_ENTRY_FIXED_PAYLOAD_BYTES + entry.data.byteLength)
    .u8(kindCode(entry.kind))
    .u64(entry.term)
    .u64(entry.index)
    .raw(entry.data)
    .seal(key);
}

/** Throws RecordDecodeError when the record fails its checks. `data` aliases `value`. */
export function decodeLogEntry(key: Uint8Array, value: Uint8Array): Entry {
  const keyIndex = logIndexOfKey(key);
  if (keyIndex === undefined) {
    throw new RecordDecodeError("key is not a valid log key");
  }
  const reader = openFrame(key, value);
  const kind = kindOfCode(reader.u8());
  const term = reader.u64();
  const index = reader.u64();
  const data = reader.rest();
  // The CRC covers the key, so a mismatch here was written that way: a bug, not bit rot.
  assert(index === keyIndex, `log record at index ${keyIndex} holds index ${index}`);
  return { term, index, kind, data };
}
