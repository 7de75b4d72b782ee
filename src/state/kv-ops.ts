// The three KV operations as they run inside a write txn, shared by the Put and
// DeleteRange commands and by Txn branches: the state checks etcd makes before
// anything is written (so a failing request writes nothing), then execution.
import { assert } from "../util/assert.js";
import type { DeleteRangeResult, PutResult } from "./apply-result.js";
import type { DeleteRangeOp, PutOp, RangeOp } from "./command.js";
import { keyString, toKeyRange } from "./key-range.js";
import type { KvReadView } from "./mvcc/mvcc-store.js";
import type { WriteTxn } from "./mvcc/write-txn.js";
import { type RangeAnswer, type RangeRevisionError, rangeQuery } from "./range.js";

/** The lease table as the KV checks see it. */
export interface LeaseLookup {
  has(id: number): boolean;
}

/** ignore_value / ignore_lease need an existing key to take the old value or lease from. */
export function checkPutIgnore(view: KvReadView, op: PutOp): "key-not-found" | null {
  if ((op.ignoreValue || op.ignoreLease) && view.get(keyString(op.key)) === undefined) {
    return "key-not-found";
  }
  return null;
}

/** A put may only attach to a lease that exists (ignore_lease keeps the key's own lease). */
export function checkPutLease(leases: LeaseLookup, op: PutOp): "lease-not-found" | null {
  if (!op.ignoreLease && op.lease !== 0 && !leases.has(op.lease)) {
    return "lease-not-found";
  }
  return null;
}

/**
 * etcd's check of a range inside a txn (checkRequestRange), stricter than a
 * plain Range's for negative revisions: 0 reads the current revision, and
 * anything below the first revision (-1 on a store never compacted) is Compacted.
 */
export function checkRangeOp(view: KvReadView, op: RangeOp): RangeRevisionError | null {
  if (op.revision === 0) return null;
  if (op.revision > view.revision) return "future-rev";
  if (op.revision < view.firstRevision) return "compacted";
  return null;
}

/** Runs a checked put: ignore_value/ignore_lease take the current value/lease. */
export function execPut(txn: WriteTxn, op: PutOp): PutResult {
  const previous = txn.get(keyString(op.key));
  assert(!(op.ignoreValue || op.ignoreLease) || previous !== undefined, "put ran unchecked");
  const value = op.ignoreValue && previous !== undefined ? previous.value : op.value;
  const lease = op.ignoreLease && previous !== undefined ? previous.lease : op.lease;
  const { prevKv } = txn.put(op.key, value, lease);
  return { revision: txn.revision, prevKv: op.prevKv ? prevKv : null };
}

export function execDeleteRange(txn: WriteTxn, op: DeleteRangeOp): DeleteRangeResult {
  const deleted = txn.deleteRange(toKeyRange(op.key, op.rangeEnd));
  return { revision: txn.revision, deleted: deleted.length, prevKvs: op.prevKv ? deleted : [] };
}

/** Runs a checked range inside a txn: it sees the txn's earlier writes. */
export function execRange(txn: WriteTxn, op: RangeOp): RangeAnswer {
  const result = rangeQuery(txn, op);
  // checkRangeOp ran against the revision the txn began at; the view only moves forward.
  assert(result.kind === "range", `range in txn failed after its check: ${result.kind}`);
  return result.ok;
}
