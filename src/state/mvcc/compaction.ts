// Compaction: forget history at or below a revision while keeping, for every
// key, its newest version at or below it (dropped too if it is a tombstone).
// Runs synchronously inside apply, so every member drops the same rows in the
// same Raft entry and the deletes go out in the same batch.
import type { TableWrite } from "../table-write.js";
import { KV_TABLE, kvMetaWrite, type MvccStore } from "./mvcc-store.js";
import { encodeRevisionKey } from "./revision.js";

export type CompactOutcome =
  | { readonly kind: "ok"; readonly writes: readonly TableWrite[]; readonly droppedCount: number }
  | { readonly kind: "error"; readonly code: "compacted" | "future-rev" };

/**
 * etcd: at or below the current compact revision → Compacted (on a store never
 * compacted that is -1, so Compact(0) succeeds once and a negative revision
 * never does); above the current revision → FutureRev.
 */
export function compact(store: MvccStore, revision: number): CompactOutcome {
  if (revision <= store.firstRevision) {
    return { kind: "error", code: "compacted" };
  }
  if (revision > store.revision) {
    return { kind: "error", code: "future-rev" };
  }
  const dropped = store.compactHistory(revision);
  const writes: TableWrite[] = dropped.map((version) => ({
    table: KV_TABLE,
    key: encodeRevisionKey({ main: version.kv.modRevision, sub: version.sub }),
    value: null,
  }));
  writes.push(kvMetaWrite("compact", revision));
  return { kind: "ok", writes, droppedCount: dropped.length };
}
