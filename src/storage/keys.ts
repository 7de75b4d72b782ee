// The LevelDB key layout: one tag byte splits the keyspace into the raft log,
// node metadata and the state machine's tables. Plain prefixes rather than
// abstract-level sublevels, so a batch is one flat array and keys stay short.
//
//   0x01 | index u64 BE                         raft log entry (BE: iteration = index order)
//   0x02 | name (ASCII)                         meta record, name from META_NAMES
//   0x03 | nameLength u8 | table (ASCII) | key  state table record; the length byte keeps
//                                               table "ab"+key "c" apart from table "a"+key "bc"
//   0x04 | nameLength u8 | table (ASCII) | key  staged row of an incoming snapshot: the state
//                                               layout under another tag, so installing a row
//                                               is a tag swap (staged-install.ts)

import type { LogIndex } from "../raft/types.js";
import { assert } from "../util/assert.js";

export const KEY_TAG_LOG = 0x01;
export const KEY_TAG_META = 0x02;
export const KEY_TAG_STATE = 0x03;
export const KEY_TAG_STAGE = 0x04;

export const LOG_KEY_BYTES = 9;
const U32_RANGE = 0x1_0000_0000;
/** Highest u32 that can be the high half of a safe integer (2^53 - 1). */
const SAFE_HIGH_WORD_MAX = 0x1f_ffff;

export interface KeyRange {
  readonly gte: Uint8Array;
  readonly lt: Uint8Array;
}

export const LOG_RANGE: KeyRange = { gte: Uint8Array.of(KEY_TAG_LOG), lt: Uint8Array.of(0x02) };
export const META_RANGE: KeyRange = { gte: Uint8Array.of(KEY_TAG_META), lt: Uint8Array.of(0x03) };
/** Every row of every state table. */
export const STATE_RANGE: KeyRange = { gte: Uint8Array.of(KEY_TAG_STATE), lt: Uint8Array.of(0x04) };
/** Every staged snapshot row. */
export const STAGE_RANGE: KeyRange = { gte: Uint8Array.of(KEY_TAG_STAGE), lt: Uint8Array.of(0x05) };
/** Everything cairn writes; used to tell a fresh directory from a damaged one. */
export const ALL_RANGE: KeyRange = { gte: Uint8Array.of(0x00), lt: Uint8Array.of(0xff) };

export function logKey(index: LogIndex): Uint8Array {
  assert(
    Number.isSafeInteger(index) && index >= 1,
    `log index must be a positive integer: ${index}`,
  );
  const key = new Uint8Array(LOG_KEY_BYTES);
  const view = new DataView(key.buffer);
  key[0] = KEY_TAG_LOG;
  view.setUint32(1, Math.floor(index / U32_RANGE));
  view.setUint32(5, index % U32_RANGE);
  return key;
}

/** Returns undefined for a key that cannot be a log key (wrong length or tag). */
export function logIndexOfKey(key: Uint8Array): LogIndex | undefined {
  if (key.byteLength !== LOG_KEY_BYTES || key[0] !== KEY_TAG_LOG) {
    return undefined;
  }
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
  const high = view.getUint32(1);
  if (high > SAFE_HIGH_WORD_MAX) {
    return undefined;
  }
  return high * U32_RANGE + view.getUint32(5);
}

export const META_NAMES = [
  "format-version",
  "hard-state",
  "conf-state",
  "applied-index",
  "snapshot-meta",
  "log-start",
  "member-id",
  "cluster-id",
  "snapshot-install",
] as const;
export type MetaName = (typeof META_NAMES)[number];

const metaKeys = new Map<MetaName, Uint8Array>(
  META_NAMES.map((name) => [name, concat(Uint8Array.of(KEY_TAG_META), ascii(name))]),
);

/** The key is shared: callers must not mutate it. */
export function metaKey(name: MetaName): Uint8Array {
  const key = metaKeys.get(name);
  assert(key !== undefined, `unknown meta record ${name}`);
  return key;
}

/** Returns undefined when the key is not one of META_NAMES. */
export function metaNameOfKey(key: Uint8Array): MetaName | undefined {
  if (key[0] !== KEY_TAG_META) {
    return undefined;
  }
  const name = new TextDecoder().decode(key.subarray(1));
  return (META_NAMES as readonly string[]).includes(name) ? (name as MetaName) : undefined;
}

/** Table names come from code, not users: short lowercase ASCII identifiers. */
const TABLE_NAME_PATTERN = /^[a-z][a-z0-9_.-]{0,62}$/;

export function assertTableName(table: string): void {
  assert(
    TABLE_NAME_PATTERN.test(table),
    `state table name must match ${TABLE_NAME_PATTERN}: "${table}"`,
  );
}

/** Table names are a small fixed set from code; the bound only guards against a naming bug. */
const TABLE_PREFIX_CACHE_ENTRIES_MAX = 1024;
const tablePrefixes = new Map<string, Uint8Array>();

/** The prefix is shared: callers must not mutate it. */
function tablePrefix(table: string): Uint8Array {
  const cached = tablePrefixes.get(table);
  if (cached !== undefined) {
    return cached;
  }
  assertTableName(table);
  const name = ascii(table);
  const prefix = concat(Uint8Array.of(KEY_TAG_STATE, name.byteLength), name);
  if (tablePrefixes.size < TABLE_PREFIX_CACHE_ENTRIES_MAX) {
    tablePrefixes.set(table, prefix);
  }
  return prefix;
}

export function stateKey(table: string, key: Uint8Array): Uint8Array {
  return concat(tablePrefix(table), key);
}

/** Where a snapshot row waits until it is installed: the state key under KEY_TAG_STAGE. */
export function stageKey(table: string, key: Uint8Array): Uint8Array {
  const out = stateKey(table, key);
  out[0] = KEY_TAG_STAGE;
  return out;
}

/** The state key a staged row is installed under (a fresh array; the staged key is not touched). */
export function stateKeyOfStageKey(staged: Uint8Array): Uint8Array {
  assert(staged[0] === KEY_TAG_STAGE, "not a staged row key");
  // Not slice(): on a Buffer (what LevelDB hands back) it aliases the original.
  const out = new Uint8Array(staged);
  out[0] = KEY_TAG_STATE;
  return out;
}

/** All records of one table. The upper bound bumps the prefix's last byte, an ASCII letter or digit, so it cannot overflow. */
export function stateTableRange(table: string): KeyRange & { readonly prefixBytes: number } {
  const gte = tablePrefix(table);
  const lt = gte.slice();
  const last = lt.byteLength - 1;
  assert(lt[last]! < 0x7f, "table prefix must end in an ASCII byte");
  lt[last] = lt[last]! + 1;
  return { gte, lt, prefixBytes: gte.byteLength };
}

const DESCRIBE_KEY_BYTES_MAX = 32;

/** Names a record for an operator: "log index 1234", "meta hard-state", `state table "users" key 0x…`. */
export function describeKey(key: Uint8Array | undefined): string {
  if (key === undefined || key.byteLength === 0) {
    return "(before the first record)";
  }
  switch (key[0]) {
    case KEY_TAG_LOG: {
      const index = logIndexOfKey(key);
      return index === undefined ? `log key ${hex(key)}` : `log index ${index}`;
    }
    case KEY_TAG_META:
      return `meta ${new TextDecoder().decode(key.subarray(1))}`;
    case KEY_TAG_STATE:
    case KEY_TAG_STAGE: {
      const nameBytes = key[1] ?? 0;
      const table = new TextDecoder().decode(key.subarray(2, 2 + nameBytes));
      const what = key[0] === KEY_TAG_STATE ? "state table" : "staged snapshot row of table";
      return `${what} "${table}" key ${hex(key.subarray(2 + nameBytes))}`;
    }
    default:
      return `unknown key ${hex(key)}`;
  }
}

function hex(bytes: Uint8Array): string {
  const shown = Buffer.from(bytes.subarray(0, DESCRIBE_KEY_BYTES_MAX)).toString("hex");
  return `0x${shown}${bytes.byteLength > DESCRIBE_KEY_BYTES_MAX ? "…" : ""}`;
}

function ascii(text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  assert(bytes.byteLength === text.length, `expected ASCII: "${text}"`);
  return bytes;
}

function concat(head: Uint8Array, tail: Uint8Array): Uint8Array {
  const out = new Uint8Array(head.byteLength + tail.byteLength);
  out.set(head, 0);
  out.set(tail, head.byteLength);
  return out;
}
