// Translation between etcd's KV protobuf requests/responses and the state
// machine's commands and results, with etcd's request checks: empty keys,
// ignore_value/ignore_lease misuse, unknown enums, empty RequestOps. Shared by
// Range, Put, DeleteRange and (recursively) Txn.
import type { etcdserverpb, mvccpb } from "../gen/etcd.js";
import type {
  Compare,
  CompareResult,
  CompareTarget,
  DeleteRangeOp,
  PutOp,
  RangeOp,
  RangeQuery,
  RequestOp,
  ResponseOp,
  SortOrder,
  SortTarget,
  TxnRequest,
} from "../state/index.js";
import type { KeyValue } from "../state/mvcc/key-value.js";
import { assertNever } from "../util/assert.js";
import { CairnError } from "./errors.js";

type Header = etcdserverpb.ResponseHeader.$Properties;

const SORT_ORDERS: Readonly<Record<number, SortOrder>> = { 0: "none", 1: "ascend", 2: "descend" };
const SORT_TARGETS: Readonly<Record<number, SortTarget>> = {
  0: "key",
  1: "version",
  2: "create",
  3: "mod",
  4: "value",
};
const COMPARE_RESULTS: Readonly<Record<number, CompareResult>> = {
  0: "equal",
  1: "greater",
  2: "less",
  3: "not-equal",
};
const COMPARE_TARGETS: Readonly<Record<number, CompareTarget>> = {
  0: "version",
  1: "create",
  2: "mod",
  3: "value",
  4: "lease",
};
const EMPTY = new Uint8Array(0);

export function requireKey(key: Uint8Array | null | undefined): Uint8Array {
  if (key === null || key === undefined || key.byteLength === 0) {
    throw new CairnError("KEY_NOT_PROVIDED");
  }
  return key;
}

export function toProtoKv(kv: KeyValue): mvccpb.KeyValue.$Properties {
  return {
    key: kv.key,
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
    value: kv.value,
    lease: kv.lease,
  };
}

export function toRangeQuery(request: etcdserverpb.IRangeRequest): RangeQuery {
  const sortOrder = SORT_ORDERS[request.sortOrder ?? 0];
  const sortTarget = SORT_TARGETS[request.sortTarget ?? 0];
  if (sortOrder === undefined || sortTarget === undefined) {
    throw new CairnError(
      "INVALID_ARGUMENT",
      "etcdserver: invalid sort option: order 0-2, target 0-4",
    );
  }
  return {
    key: requireKey(request.key),
    rangeEnd: request.rangeEnd ?? EMPTY,
    limit: Math.max(0, request.limit ?? 0),
    revision: request.revision ?? 0,
    sortOrder,
    sortTarget,
    keysOnly: request.keysOnly ?? false,
    countOnly: request.countOnly ?? false,
    minModRevision: request.minModRevision ?? 0,
    maxModRevision: request.maxModRevision ?? 0,
    minCreateRevision: request.minCreateRevision ?? 0,
    maxCreateRevision: request.maxCreateRevision ?? 0,
  };
}

export function toPutOp(request: etcdserverpb.IPutRequest): PutOp {
  const value = request.value ?? EMPTY;
  const lease = request.lease ?? 0;
  if (request.ignoreValue === true && value.byteLength > 0) throw new CairnError("VALUE_PROVIDED");
  if (request.ignoreLease === true && lease !== 0) throw new CairnError("LEASE_PROVIDED");
  return {
    kind: "put",
    key: requireKey(request.key),
    value,
    lease,
    prevKv: request.prevKv ?? false,
    ignoreValue: request.ignoreValue ?? false,
    ignoreLease: request.ignoreLease ?? false,
  };
}

export function toDeleteRangeOp(request: etcdserverpb.IDeleteRangeRequest): DeleteRangeOp {
  return {
    kind: "delete-range",
    key: requireKey(request.key),
    rangeEnd: request.rangeEnd ?? EMPTY,
    prevKv: request.prevKv ?? false,
  };
}

function toCompare(compare: etcdserverpb.ICompare): Compare {
  const target = COMPARE_TARGETS[compare.target ?? 0];
  const result = COMPARE_RESULTS[compare.result ?? 0];
  if (target === undefined || result === undefined) {
    throw new CairnError("INVALID_ARGUMENT", "etcdserver: invalid compare: result 0-3, target 0-4");
  }
  const operands: Record<CompareTarget, number> = {
    version: compare.version ?? 0,
    create: compare.createRevision ?? 0,
    mod: compare.modRevision ?? 0,
    lease: compare.lease ?? 0,
    value: 0,
  };
  return {
    key: requireKey(compare.key),
    rangeEnd: compare.rangeEnd ?? EMPTY,
    target,
    result,
    operand: operands[target],
    value: compare.value ?? EMPTY,
  };
}

function toRequestOp(op: etcdserverpb.IRequestOp): RequestOp {
  if (op.requestRange) return { kind: "range", ...toRangeQuery(op.requestRange) } satisfies RangeOp;
  if (op.requestPut) return toPutOp(op.requestPut);
  if (op.requestDeleteRange) return toDeleteRangeOp(op.requestDeleteRange);
  if (op.requestTxn) return { kind: "txn", ...toTxnRequest(op.requestTxn) };
  // etcd answers an empty RequestOp with "key not found".
  throw new CairnError("KEY_NOT_FOUND");
}

export function toTxnRequest(request: etcdserverpb.ITxnRequest): TxnRequest {
  return {
    compare: (request.compare ?? []).map(toCompare),
    success: (request.success ?? []).map(toRequestOp),
    failure: (request.failure ?? []).map(toRequestOp),
  };
}

export function toProtoResponseOp(
  op: ResponseOp,
  header: (revision: number) => Header,
): etcdserverpb.IResponseOp {
  switch (op.kind) {
    case "range":
      return {
        responseRange: {
          header: header(op.ok.revision),
          kvs: op.ok.kvs.map(toProtoKv),
          more: op.ok.more,
          count: op.ok.count,
        },
      };
    case "put": {
      const put: etcdserverpb.IPutResponse = { header: header(op.ok.revision) };
      if (op.ok.prevKv !== null) put.prevKv = toProtoKv(op.ok.prevKv);
      return { responsePut: put };
    }
    case "delete-range":
      return {
        responseDeleteRange: {
          header: header(op.ok.revision),
          deleted: op.ok.deleted,
          prevKvs: op.ok.prevKvs.map(toProtoKv),
        },
      };
    case "txn":
      return {
        responseTxn: {
          header: header(op.ok.revision),
          succeeded: op.ok.succeeded,
          responses: op.ok.responses.map((inner) => toProtoResponseOp(inner, header)),
        },
      };
    default:
      return assertNever(op, "response op");
  }
}
