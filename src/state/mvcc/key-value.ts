// The records of the MVCC keyspace: the etcd-shaped KeyValue handed to callers,
// the stored KeyVersion (one per change, tombstones included), the watch event
// a change produces, and the codec of a version's persisted row.
import { Packr } from "msgpackr";
import { assert } from "../../util/assert.js";
import { keyString } from "../key-range.js";
import { decodeRevisionKey, encodeRevisionKey } from "./revision.js";

/** mvccpb.KeyValue: what Range, prev_kv and watch events carry. */
export interface KeyValue {
  readonly key: Uint8Array;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  readonly value: Uint8Array;
  readonly lease: number;
}

/**
 * One change of one key. `kv.modRevision` is the main revision of the change.
 * A tombstone's kv is what etcd puts in a DELETE event: the key, modRevision =
 * the delete revision, everything else zero/empty.
 */
export interface KeyVersion {
  /** The key as a latin1 string (byte order = string order). */
  readonly key: string;
  readonly sub: number;
  readonly tombstone: boolean;
  readonly kv: KeyValue;
}

/** mvccpb.Event: a PUT carries the new kv, a DELETE the tombstone kv; prevKv is the value replaced. */
export interface WatchEvent {
  readonly type: "put" | "delete";
  readonly kv: KeyValue;
  readonly prevKv: KeyValue | null;
}

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/**
 * A stored version owns its bytes: key and value copied into one exact-size
 * buffer. The bytes handed in are views into a request or a log entry, and a
 * view keeps its whole parent alive: on the leader that parent is one of
 * Node's shared 8 KiB pool slabs, so every stored value pinned a slab
 * (560 bytes per 256-byte value after 100 000 puts, bench/PROFILE.md).
 */
function ownedBytes(key: Uint8Array, value: Uint8Array): { key: Uint8Array; value: Uint8Array } {
  const bytes = new Uint8Array(key.length + value.length);
  bytes.set(key, 0);
  bytes.set(value, key.length);
  return { key: bytes.subarray(0, key.length), value: bytes.subarray(key.length) };
}

export function liveVersion(key: Uint8Array, kv: Omit<KeyValue, "key">, sub: number): KeyVersion {
  assert(kv.createRevision >= 1, "a live version has a create revision");
  assert(kv.version >= 1, "a live version has version >= 1");
  const owned = ownedBytes(key, kv.value);
  // Spelled out, in tombstoneVersion's order, rather than `{ key, ...kv }`: a
  // spread builds each object with its fields outside the object (a separate
  // property array, ~60 bytes per stored version) and a shape of its own.
  const stored: KeyValue = {
    key: owned.key,
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
    value: owned.value,
    lease: kv.lease,
  };
  return { key: keyString(key), sub, tombstone: false, kv: stored };
}

export function tombstoneVersion(key: Uint8Array, main: number, sub: number): KeyVersion {
  const kv: KeyValue = {
    key: key.slice(),
    createRevision: 0,
    modRevision: main,
    version: 0,
    value: EMPTY_BYTES,
    lease: 0,
  };
  return { key: keyString(key), sub, tombstone: true, kv };
}

export function eventOf(version: KeyVersion, prevKv: KeyValue | null): WatchEvent {
  return { type: version.tombstone ? "delete" : "put", kv: version.kv, prevKv };
}

// Row values are msgpack arrays [key, value, createRevision, version, lease, tombstone]:
// fixed field order, no shared structures, so the same version always encodes to
// the same bytes on every member (required for identical writes and hashKv).
const packr = new Packr({ useRecords: false, moreTypes: false });

type StoredRow = [Uint8Array, Uint8Array, number, number, number, 0 | 1];

export function encodeVersionRow(version: KeyVersion): { key: Uint8Array; value: Uint8Array } {
  const kv = version.kv;
  const row: StoredRow = [
    kv.key,
    kv.value,
    kv.createRevision,
    kv.version,
    kv.lease,
    version.tombstone ? 1 : 0,
  ];
  return {
    key: encodeRevisionKey({ main: kv.modRevision, sub: version.sub }),
    value: packr.pack(row),
  };
}

export function decodeVersionRow(rowKey: Uint8Array, rowValue: Uint8Array): KeyVersion {
  const { main, sub } = decodeRevisionKey(rowKey);
  const raw: unknown = packr.unpack(rowValue);
  assert(Array.isArray(raw) && raw.length === 6, `kv row ${main}.${sub} is not a 6-field array`);
  const [key, value, createRevision, version, lease, tombstone] = raw as StoredRow;
  assert(key instanceof Uint8Array, `kv row ${main}.${sub} key is not bytes`);
  assert(value instanceof Uint8Array, `kv row ${main}.${sub} value is not bytes`);
  if (tombstone === 1) {
    return tombstoneVersion(key, main, sub);
  }
  assert(tombstone === 0, `kv row ${main}.${sub} has a bad tombstone flag`);
  assert(createRevision <= main, `kv row ${main}.${sub} created after its modification`);
  return liveVersion(key, { createRevision, modRevision: main, version, value, lease }, sub);
}
