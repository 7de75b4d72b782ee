// Request-shape rules of etcd's Txn that need no state: the op budget
// (maxTxnOps, counted as etcd counts it) and overlapping writes ("duplicate
// key given in txn request"). Pure: the handler may call validateTxn before
// proposing to save a Raft round trip; apply calls it again, so a command
// from any proposer gets the same verdict on every member.
import type { RequestOp, TxnRequest } from "./command.js";
import { inRange, type KeyRange, keyString, toKeyRange } from "./key-range.js";

/** etcd's --max-txn-ops default. Every member must use the same value. */
export const MAX_TXN_OPS = 128;

export type TxnValidationError = "too-many-ops" | "duplicate-key";

/**
 * etcd counts max(compares, success ops, failure ops) per txn; a nested txn
 * gets the budget left after its parent's count.
 */
function withinOpBudget(request: TxnRequest, budget: number): boolean {
  const count = Math.max(request.compare.length, request.success.length, request.failure.length);
  if (count > budget) {
    return false;
  }
  for (const op of [...request.success, ...request.failure]) {
    if (op.kind === "txn" && !withinOpBudget(op, budget - count)) {
      return false;
    }
  }
  return true;
}

/** etcd's checkIntervals interval: no special meaning for a "\0" range_end. */
function literalRange(key: Uint8Array, rangeEnd: Uint8Array): KeyRange {
  return { start: keyString(key), end: rangeEnd.byteLength === 0 ? null : keyString(rangeEnd) };
}

interface WriteSets {
  readonly puts: Set<string>;
  readonly deletes: KeyRange[];
}

function overlapsDelete(deletes: readonly KeyRange[], key: string): boolean {
  return deletes.some((range) => inRange(range, key));
}

/**
 * etcd's checkIntervals for one branch: a put may not repeat a put or fall in
 * a delete range of the same branch, its nested txns included; the then and
 * else branches of one nested txn may put the same key (only one runs). As in
 * etcd, a later nested txn may delete what an earlier nested txn put. Like
 * etcd 3.4, the check reads a delete's range_end literally: a from-key delete
 * (range_end "\0") is the empty interval [key, "\0") and conflicts with no
 * put, so such a txn is accepted and both ops apply, as they do on etcd.
 */
function branchWrites(ops: readonly RequestOp[]): WriteSets | "duplicate-key" {
  const deletes: KeyRange[] = [];
  for (const op of ops) {
    if (op.kind === "delete-range") deletes.push(literalRange(op.key, op.rangeEnd));
  }
  const puts = new Set<string>();
  for (const op of ops) {
    if (op.kind !== "txn") continue;
    const then = branchWrites(op.success);
    const otherwise = branchWrites(op.failure);
    if (then === "duplicate-key" || otherwise === "duplicate-key") return "duplicate-key";
    for (const key of then.puts) {
      if (puts.has(key) || overlapsDelete(deletes, key)) return "duplicate-key";
      puts.add(key);
    }
    for (const key of otherwise.puts) {
      if (puts.has(key) && !then.puts.has(key)) return "duplicate-key";
      if (overlapsDelete(deletes, key)) return "duplicate-key";
      puts.add(key);
    }
    deletes.push(...then.deletes, ...otherwise.deletes);
  }
  for (const op of ops) {
    if (op.kind !== "put") continue;
    const key = keyString(op.key);
    if (puts.has(key) || overlapsDelete(deletes, key)) return "duplicate-key";
    puts.add(key);
  }
  return { puts, deletes };
}

/**
 * The one case where reading range_end literally would go wrong: a put with
 * ignore_value/ignore_lease needs the key's current value, and a from-key
 * delete earlier in the same branch may have removed it. etcd 3.4 panics on
 * that ("unexpected error during txn"); cairn refuses the txn instead. Walks
 * ops in execution order, entering both branches of nested txns.
 */
function readsAfterFromKeyDelete(ops: readonly RequestOp[], fromKey: KeyRange[]): boolean {
  for (const op of ops) {
    if (op.kind === "delete-range" && op.rangeEnd.byteLength === 1 && op.rangeEnd[0] === 0) {
      fromKey.push(toKeyRange(op.key, op.rangeEnd));
    } else if (op.kind === "put" && (op.ignoreValue || op.ignoreLease)) {
      if (overlapsDelete(fromKey, keyString(op.key))) return true;
    } else if (op.kind === "txn") {
      if (readsAfterFromKeyDelete(op.success, [...fromKey])) return true;
      if (readsAfterFromKeyDelete(op.failure, [...fromKey])) return true;
      // Either branch's deletes may have run before the ops that follow.
      readsAfterFromKeyDelete(op.success, fromKey);
      readsAfterFromKeyDelete(op.failure, fromKey);
    }
  }
  return false;
}

export function validateTxn(
  request: TxnRequest,
  maxTxnOps: number = MAX_TXN_OPS,
): TxnValidationError | null {
  if (!withinOpBudget(request, maxTxnOps)) {
    return "too-many-ops";
  }
  if (branchWrites(request.success) === "duplicate-key") {
    return "duplicate-key";
  }
  if (branchWrites(request.failure) === "duplicate-key") {
    return "duplicate-key";
  }
  if (
    readsAfterFromKeyDelete(request.success, []) ||
    readsAfterFromKeyDelete(request.failure, [])
  ) {
    return "duplicate-key";
  }
  return null;
}
