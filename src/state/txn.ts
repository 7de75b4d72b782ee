// etcd's Txn at apply time, in etcd's three phases: (1) evaluate the compares
// of the txn and of every nested txn on the branch taken, all against the
// state before the txn; (2) check the ops of that path (puts first, then
// ranges) so a failing txn writes nothing; (3) run the ops in order, each
// seeing the writes before it. Nesting depth is bounded by validateTxn's op
// budget (each level uses at least one op), which apply checks first.
import { assert, assertNever } from "../util/assert.js";
import type { ApplyError, ApplyErrorCode, ResponseOp, TxnResult } from "./apply-result.js";
import type { Compare, RequestOp, TxnRequest } from "./command.js";
import { toKeyRange } from "./key-range.js";
import {
  checkPutIgnore,
  checkPutLease,
  checkRangeOp,
  execDeleteRange,
  execPut,
  execRange,
  type LeaseLookup,
} from "./kv-ops.js";
import { EMPTY_BYTES, type KeyValue } from "./mvcc/key-value.js";
import type { KvReadView } from "./mvcc/mvcc-store.js";
import type { WriteTxn } from "./mvcc/write-txn.js";

/** The outcome of phase 1 for one txn: which branch runs, and the same for its nested txns. */
interface TxnPath {
  readonly succeeded: boolean;
  /** Paths of the nested txns of the branch taken, by op index in that branch. */
  readonly nested: ReadonlyMap<number, TxnPath>;
}

function branchOf(request: TxnRequest, path: TxnPath): readonly RequestOp[] {
  return path.succeeded ? request.success : request.failure;
}

function sign(difference: number): number {
  return difference < 0 ? -1 : difference > 0 ? 1 : 0;
}

/** -1/0/1 comparing the key's target field with the compare's operand. */
function targetOrder(compare: Compare, kv: KeyValue): number {
  switch (compare.target) {
    case "value":
      return Buffer.compare(kv.value, compare.value);
    case "version":
      return sign(kv.version - compare.operand);
    case "create":
      return sign(kv.createRevision - compare.operand);
    case "mod":
      return sign(kv.modRevision - compare.operand);
    case "lease":
      return sign(kv.lease - compare.operand);
    default:
      return assertNever(compare.target, "compare target");
  }
}

function compareKv(compare: Compare, kv: KeyValue): boolean {
  const order = targetOrder(compare, kv);
  switch (compare.result) {
    case "equal":
      return order === 0;
    case "not-equal":
      return order !== 0;
    case "greater":
      return order > 0;
    case "less":
      return order < 0;
    default:
      return assertNever(compare.result, "compare result");
  }
}

/**
 * etcd: every key in range must satisfy the compare. A missing key compares
 * as all zeros (version 0, create 0 ...), except on VALUE, which then fails:
 * gRPC cannot tell an empty value from a missing one.
 */
export function compareHolds(view: KvReadView, compare: Compare): boolean {
  let seen = false;
  for (const kv of view.scan(toKeyRange(compare.key, compare.rangeEnd), view.revision)) {
    seen = true;
    if (!compareKv(compare, kv)) return false;
  }
  if (seen) {
    return true;
  }
  if (compare.target === "value") {
    return false;
  }
  const absent: KeyValue = {
    key: compare.key,
    createRevision: 0,
    modRevision: 0,
    version: 0,
    value: EMPTY_BYTES,
    lease: 0,
  };
  return compareKv(compare, absent);
}

function choosePath(view: KvReadView, request: TxnRequest): TxnPath {
  const succeeded = request.compare.every((compare) => compareHolds(view, compare));
  const nested = new Map<number, TxnPath>();
  const ops = succeeded ? request.success : request.failure;
  ops.forEach((op, index) => {
    if (op.kind === "txn") nested.set(index, choosePath(view, op));
  });
  return { succeeded, nested };
}

type OpCheck = (op: RequestOp) => ApplyErrorCode | null;

/** The first failing check over the ops the path will run, in op order. */
function firstFailure(request: TxnRequest, path: TxnPath, check: OpCheck): ApplyErrorCode | null {
  const ops = branchOf(request, path);
  for (const [index, op] of ops.entries()) {
    const nested = path.nested.get(index);
    const error =
      op.kind === "txn" && nested !== undefined ? firstFailure(op, nested, check) : check(op);
    if (error !== null) return error;
  }
  return null;
}

function runOp(txn: WriteTxn, op: RequestOp, nested: TxnPath | undefined): ResponseOp {
  switch (op.kind) {
    case "range":
      return { kind: "range", ok: execRange(txn, op) };
    case "put":
      return { kind: "put", ok: execPut(txn, op) };
    case "delete-range":
      return { kind: "delete-range", ok: execDeleteRange(txn, op) };
    case "txn":
      assert(nested !== undefined, "nested txn without a path");
      return { kind: "txn", ok: runBranch(txn, op, nested) };
    default:
      return assertNever(op, "request op");
  }
}

function runBranch(txn: WriteTxn, request: TxnRequest, path: TxnPath): TxnResult {
  const responses = branchOf(request, path).map((op, index) =>
    runOp(txn, op, path.nested.get(index)),
  );
  return { revision: txn.revision, succeeded: path.succeeded, responses };
}

export type TxnOutcome = { readonly kind: "txn"; readonly ok: TxnResult } | ApplyError;

/** Runs a validated txn (see validateTxn) inside `txn`; on error nothing has been written. */
export function runTxn(txn: WriteTxn, leases: LeaseLookup, request: TxnRequest): TxnOutcome {
  const path = choosePath(txn, request);
  const putError = firstFailure(request, path, (op) =>
    op.kind === "put" ? (checkPutIgnore(txn, op) ?? checkPutLease(leases, op)) : null,
  );
  const error =
    putError ??
    firstFailure(request, path, (op) => (op.kind === "range" ? checkRangeOp(txn, op) : null));
  if (error !== null) {
    return { kind: "error", code: error };
  }
  return { kind: "txn", ok: runBranch(txn, request, path) };
}
