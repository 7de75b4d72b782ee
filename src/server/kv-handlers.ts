// etcd's KV service over the replicated keyspace: validation with etcd's
// errors, writes proposed through Raft, linearizable reads behind a ReadIndex
// barrier unless the request asks for a serializable read.
import type { etcdserverpb, mvccpb } from "../gen/etcd.js";
import type { KeyValue } from "../state/mvcc/key-value.js";
import { rangeQuery, type SortOrder, type SortTarget } from "../state/range.js";
import type { ApplyResult } from "../state/state-machine.js";
import { assertNever } from "../util/assert.js";
import { CairnError } from "./errors.js";
import type { RaftNode } from "./raft-node.js";

export interface HeaderSource {
  header(revision: number): etcdserverpb.ResponseHeader.$Properties;
}

const SORT_ORDERS: Record<number, SortOrder> = { 0: "none", 1: "ascend", 2: "descend" };
const SORT_TARGETS: Record<number, SortTarget> = {
  0: "key",
  1: "version",
  2: "create",
  3: "mod",
  4: "value",
};

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

function requireKey(key: Uint8Array | null | undefined): Uint8Array {
  if (key === null || key === undefined || key.byteLength === 0) {
    throw new CairnError("KEY_NOT_PROVIDED");
  }
  return key;
}

export function throwApplyError(result: ApplyResult): never {
  if (result.kind !== "error") {
    throw new Error(`unexpected apply result ${result.kind}`);
  }
  switch (result.code) {
    case "key-not-found":
      throw new CairnError("KEY_NOT_FOUND");
    case "lease-not-found":
      throw new CairnError("LEASE_NOT_FOUND");
    case "compacted":
      throw new CairnError("COMPACTED");
    case "future-rev":
      throw new CairnError("FUTURE_REV");
    case "duplicate-key":
      throw new CairnError("DUPLICATE_KEY");
    case "too-many-ops":
      throw new CairnError("TOO_MANY_OPS");
    case "lease-exists":
      throw new CairnError("LEASE_EXISTS");
    default:
      return assertNever(result.code, "apply error");
  }
}

export class KvHandlers {
  constructor(
    private readonly node: RaftNode,
    private readonly headers: HeaderSource,
  ) {}

  async range(request: etcdserverpb.RangeRequest): Promise<etcdserverpb.RangeResponse.$Properties> {
    const key = requireKey(request.key);
    const sortOrder = SORT_ORDERS[request.sortOrder];
    const sortTarget = SORT_TARGETS[request.sortTarget];
    if (sortOrder === undefined || sortTarget === undefined) {
      throw new CairnError("INVALID_ARGUMENT", "etcdserver: invalid sort option");
    }
    if (!request.serializable) {
      await this.node.linearizableBarrier();
    }
    const result = rangeQuery(this.node.stateMachine.kv, {
      key,
      rangeEnd: request.rangeEnd,
      limit: Math.max(0, request.limit),
      revision: request.revision,
      sortOrder,
      sortTarget,
      keysOnly: request.keysOnly,
      countOnly: request.countOnly,
      minModRevision: request.minModRevision,
      maxModRevision: request.maxModRevision,
      minCreateRevision: request.minCreateRevision,
      maxCreateRevision: request.maxCreateRevision,
    });
    if (result.kind !== "range") throwApplyError(result);
    const answer = result.ok;
    return {
      header: this.headers.header(answer.revision),
      kvs: answer.kvs.map(toProtoKv),
      more: answer.more,
      count: answer.count,
    };
  }

  async put(request: etcdserverpb.PutRequest): Promise<etcdserverpb.PutResponse.$Properties> {
    const key = requireKey(request.key);
    const result = await this.node.propose({
      kind: "put",
      key,
      value: request.value,
      lease: request.lease,
      prevKv: request.prevKv,
      ignoreValue: request.ignoreValue,
      ignoreLease: request.ignoreLease,
    });
    if (result.kind !== "put") throwApplyError(result);
    const response: etcdserverpb.PutResponse.$Properties = {
      header: this.headers.header(result.ok.revision),
    };
    if (result.ok.prevKv !== null) response.prevKv = toProtoKv(result.ok.prevKv);
    return response;
  }

  async deleteRange(
    request: etcdserverpb.DeleteRangeRequest,
  ): Promise<etcdserverpb.DeleteRangeResponse.$Properties> {
    const key = requireKey(request.key);
    const result = await this.node.propose({
      kind: "delete-range",
      key,
      rangeEnd: request.rangeEnd,
      prevKv: request.prevKv,
    });
    if (result.kind !== "delete-range") throwApplyError(result);
    return {
      header: this.headers.header(result.ok.revision),
      deleted: result.ok.deleted,
      prevKvs: result.ok.prevKvs.map(toProtoKv),
    };
  }
}
