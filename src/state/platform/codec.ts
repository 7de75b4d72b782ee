// Row encoding shared by the platform tables: msgpack without shared
// structures (each row decodes alone, on any member, after any restart), and
// big-endian integer keys so LevelDB's byte order is numeric order.
// Records are plain objects built by one constructor per type, so their key
// order (and therefore their bytes) is the same on every member.
import { Packr } from "msgpackr";
import { assert } from "../../util/assert.js";
import type { TableWrite } from "../table-write.js";

const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });
const TWO_TO_32 = 2 ** 32;

export function encodeRow(value: unknown): Uint8Array {
  return packr.pack(value);
}

export function decodeRow(bytes: Uint8Array, what: string): Record<string, unknown> {
  const raw: unknown = packr.unpack(bytes);
  assert(
    typeof raw === "object" && raw !== null && !Array.isArray(raw),
    `${what} row is not a map`,
  );
  return raw as Record<string, unknown>;
}

export function u64Key(value: number): Uint8Array {
  assert(Number.isSafeInteger(value) && value >= 0, `row key ${value} is not a safe integer`);
  const bytes = Buffer.alloc(8);
  bytes.writeUInt32BE(Math.floor(value / TWO_TO_32), 0);
  bytes.writeUInt32BE(value % TWO_TO_32, 4);
  return bytes;
}

export function readU64(bytes: Uint8Array, offset = 0): number {
  assert(bytes.byteLength >= offset + 8, "row key shorter than 8 bytes");
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return view.readUInt32BE(offset) * TWO_TO_32 + view.readUInt32BE(offset + 4);
}

/** Platform identifiers are validated ASCII, so UTF-8 keys keep string order. */
export function textKey(value: string): Uint8Array {
  return Buffer.from(value, "utf8");
}

export function readText(bytes: Uint8Array, offset = 0): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8", offset);
}

/** A fresh array with `value` inserted in order (fast path: append). */
export function insertSorted<T>(items: T[], value: T, compare: (a: T, b: T) => number): void {
  const last = items[items.length - 1];
  if (last === undefined || compare(last, value) < 0) {
    items.push(value);
    return;
  }
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(items[mid] as T, value) < 0) lo = mid + 1;
    else hi = mid;
  }
  const existing = items[lo];
  assert(existing === undefined || compare(existing, value) !== 0, "duplicate sorted entry");
  items.splice(lo, 0, value);
}

/** Index of the first item for which `below` is false (items partitioned below-first). */
export function partitionPoint<T>(items: readonly T[], below: (item: T) => boolean): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (below(items[mid] as T)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export const asString = (value: unknown, what: string): string => {
  assert(typeof value === "string", `${what} is not a string`);
  return value;
};

export const asNumber = (value: unknown, what: string): number => {
  assert(typeof value === "number" && Number.isFinite(value), `${what} is not a number`);
  return value;
};

export const asBytes = (value: unknown, what: string): Uint8Array => {
  assert(value instanceof Uint8Array, `${what} is not bytes`);
  return value;
};

/** platform-meta: name (ASCII) → msgpack map; counters and settings of the platform tables. */
export const PLATFORM_META_TABLE = "platform-meta";

export function metaWrite(name: string, value: Record<string, number>): TableWrite {
  return { table: PLATFORM_META_TABLE, key: textKey(name), value: encodeRow(value) };
}
