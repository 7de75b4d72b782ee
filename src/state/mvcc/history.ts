// Queries over the history in revision order: eventsSince (watch catch-up from
// a past revision) and hashKv (Maintenance.HashKV, compared across members to
// detect divergence). Both are pure reads of the MvccStore.
import { crc32 } from "node:zlib";
import { assert } from "../../util/assert.js";
import { inRange, toKeyRange } from "../key-range.js";
import { encodeVersionRow, eventOf, type KeyVersion, type WatchEvent } from "./key-value.js";
import type { MvccStore } from "./mvcc-store.js";

/** A watch catch-up read: keys in [key, rangeEnd) (etcd's conventions), from a revision on. */
export interface HistoryQuery {
  readonly fromRevision: number;
  readonly key: Uint8Array;
  /** Empty = the single key; [0] = every key >= key; otherwise [key, rangeEnd). */
  readonly rangeEnd: Uint8Array;
  /** Soft bound on events returned; see eventsSince. */
  readonly limit: number;
}

export type EventsSinceResult =
  | {
      readonly kind: "events";
      /** In (main, sub) order; a revision is never split across two calls. */
      readonly events: readonly WatchEvent[];
      /** Where the next call continues: every event below it has been returned. */
      readonly nextRevision: number;
    }
  | { readonly kind: "error"; readonly code: "compacted"; readonly compactRevision: number };

function prevKvOf(store: MvccStore, version: KeyVersion): WatchEvent["prevKv"] {
  const history = store.keyIndex(version.key);
  assert(history !== undefined, `history of ${version.key} missing`);
  const previous = history.previousOf(version);
  return previous === undefined || previous.tombstone ? null : previous.kv;
}

/**
 * Events of keys in `range` at revisions >= fromRevision, oldest first. Stops
 * once `limit` events are collected, but only at a revision boundary, so the
 * last revision may push the count past the limit (a lease revoke or a wide
 * delete is one revision with many events; etcd never splits a revision
 * unless the client asks for fragments).
 * Compacted when fromRevision <= the compact revision: a tombstone at the
 * compact revision itself is gone, so starting there could miss a DELETE.
 * (etcd accepts fromRevision == compact revision and can miss it.)
 */
export function eventsSince(store: MvccStore, query: HistoryQuery): EventsSinceResult {
  const { fromRevision, limit } = query;
  const range = toKeyRange(query.key, query.rangeEnd);
  assert(Number.isSafeInteger(fromRevision) && fromRevision >= 1, "fromRevision must be >= 1");
  assert(Number.isSafeInteger(limit) && limit >= 1, "eventsSince needs a positive limit");
  if (store.compactRevision > 0 && fromRevision <= store.compactRevision) {
    return { kind: "error", code: "compacted", compactRevision: store.compactRevision };
  }
  const history = store.history;
  const events: WatchEvent[] = [];
  for (let i = store.historyIndexFrom(fromRevision); i < history.length; i++) {
    const version = history[i] as KeyVersion;
    const main = version.kv.modRevision;
    const last = events[events.length - 1];
    if (events.length >= limit && last !== undefined && main !== last.kv.modRevision) {
      return { kind: "events", events, nextRevision: last.kv.modRevision + 1 };
    }
    if (inRange(range, version.key)) {
      events.push(eventOf(version, prevKvOf(store, version)));
    }
  }
  return { kind: "events", events, nextRevision: Math.max(fromRevision, store.revision + 1) };
}

export type HashKvResult =
  | {
      readonly kind: "hash";
      readonly hash: number;
      /** The revision the hash covers (the request's, or current when it asked for 0). */
      readonly hashRevision: number;
      /** Current store revision (header.revision). */
      readonly revision: number;
      readonly compactRevision: number;
    }
  | {
      readonly kind: "error";
      readonly code: "compacted" | "future-rev";
      readonly compactRevision: number;
    };

const HASH_PREFIX = Buffer.from("key", "latin1");

/**
 * CRC-32 over the persisted rows (revision key + row bytes) with main revision
 * <= revision, in revision order, counting rows at or below the compact
 * revision only if a compaction at `revision` would keep them, as etcd's
 * HashByRev does. Members that applied the same entries give the same hash.
 */
export function hashKv(store: MvccStore, revision: number): HashKvResult {
  const compactRevision = store.compactRevision;
  if (revision > 0 && revision <= compactRevision) {
    return { kind: "error", code: "compacted", compactRevision };
  }
  if (revision > store.revision) {
    return { kind: "error", code: "future-rev", compactRevision };
  }
  const hashRevision = revision > 0 ? revision : store.revision;
  let hash = crc32(HASH_PREFIX);
  const history = store.history;
  const end = store.historyIndexFrom(hashRevision + 1);
  for (let i = 0; i < end; i++) {
    const version = history[i] as KeyVersion;
    if (version.kv.modRevision <= compactRevision) {
      const newest = store.keyIndex(version.key)?.newestAt(hashRevision);
      if (newest !== version || version.tombstone) continue;
    }
    const row = encodeVersionRow(version);
    hash = crc32(row.key, hash);
    hash = crc32(row.value, hash);
  }
  return { kind: "hash", hash, hashRevision, revision: store.revision, compactRevision };
}
