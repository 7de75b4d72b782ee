// etcd's KV service over the replicated keyspace: requests are checked and
// translated by kv-codec, writes proposed through Raft, linearizable reads
// answered behind a ReadIndex barrier unless the request is serializable.
import type { etcdserverpb } from "../gen/etcd.js";
import { type ApplyResult, MAX_TXN_OPS, rangeQuery, validateTxn } from "../state/index.js";
import { assertNever } from "../util/assert.js";
import { TRACE_ENABLED, trace } from "../util/latency-trace.js";
import { CairnError } from "./errors.js";
import {
  toDeleteRangeOp,
  toProtoKv,
  toProtoResponseOp,
  toPutOp,
  toRangeQuery,
  toTxnRequest,
} from "./kv-codec.js";
import type { RaftNode } from "./raft-node.js";

export { toProtoKv };

export interface HeaderSource {
  header(revision: number): etcdserverpb.ResponseHeader.$Properties;
}

/** Write admission (quota alarm, backpressure): throws when writes must be refused. */
export interface WriteGate {
  admit(kind: "write" | "delete" | "compact"): void;
}

export function throwApplyError(result: ApplyResult | { kind: "error"; code: string }): never {
  if (result.kind !== "error") {
    throw new Error(`unexpected apply result ${result.kind}`);
  }
  const code = result.code as Extract<ApplyResult, { kind: "error" }>["code"];
  switch (code) {
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
    case "member-not-found":
      throw new CairnError("MEMBER_NOT_FOUND");
    case "member-exists":
      throw new CairnError("MEMBER_ID_EXISTS");
    case "member-not-learner":
      throw new CairnError("MEMBER_NOT_LEARNER");
    case "lease-not-expired":
      // Only the expiry driver's conditional revokes fail this way; no client sees it.
      throw new CairnError("INVALID_ARGUMENT", "lease was renewed before its expiry revoke");
    default:
      return assertNever(code, "apply error");
  }
}

export class KvHandlers {
  constructor(
    private readonly node: RaftNode,
    private readonly headers: HeaderSource,
    private readonly gate: WriteGate,
    private readonly maxTxnOps: number = MAX_TXN_OPS,
  ) {}

  async range(request: etcdserverpb.RangeRequest): Promise<etcdserverpb.RangeResponse.$Properties> {
    const query = toRangeQuery(request);
    if (!request.serializable) {
      await this.node.linearizableBarrier();
      if (TRACE_ENABLED) trace("read-barrier-passed");
    }
    const result = rangeQuery(this.node.stateMachine.kv, query);
    if (result.kind !== "range") throwApplyError(result);
    return {
      header: this.headers.header(result.ok.revision),
      kvs: result.ok.kvs.map(toProtoKv),
      more: result.ok.more,
      count: result.ok.count,
    };
  }

  async put(request: etcdserverpb.PutRequest): Promise<etcdserverpb.PutResponse.$Properties> {
    if (TRACE_ENABLED) trace("put-in");
    const op = toPutOp(request);
    this.gate.admit("write");
    const result = await this.node.propose(op);
    if (TRACE_ENABLED) trace("put-out");
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
    const op = toDeleteRangeOp(request);
    this.gate.admit("delete");
    const result = await this.node.propose(op);
    if (result.kind !== "delete-range") throwApplyError(result);
    return {
      header: this.headers.header(result.ok.revision),
      deleted: result.ok.deleted,
      prevKvs: result.ok.prevKvs.map(toProtoKv),
    };
  }

  async txn(request: etcdserverpb.TxnRequest): Promise<etcdserverpb.TxnResponse.$Properties> {
    const txn = toTxnRequest(request);
    const invalid = validateTxn(txn, this.maxTxnOps);
    if (invalid !== null) throwApplyError({ kind: "error", code: invalid });
    this.gate.admit(txnHasPuts(request) ? "write" : "delete");
    const result = await this.node.propose({ kind: "txn", ...txn });
    if (result.kind !== "txn") throwApplyError(result);
    const header = (revision: number) => this.headers.header(revision);
    return {
      header: header(result.ok.revision),
      succeeded: result.ok.succeeded,
      responses: result.ok.responses.map((op) => toProtoResponseOp(op, header)),
    };
  }

  async compact(
    request: etcdserverpb.CompactionRequest,
  ): Promise<etcdserverpb.CompactionResponse.$Properties> {
    if (!Number.isSafeInteger(request.revision)) {
      throw new CairnError(
        "INVALID_ARGUMENT",
        `etcdserver: compaction revision must be an integer, got ${request.revision}`,
      );
    }
    this.gate.admit("compact");
    const result = await this.node.propose({ kind: "compact", revision: request.revision });
    if (result.kind !== "compact") throwApplyError(result);
    // Compaction deletes the superseded rows in the apply batch itself, so the
    // answer is already "physical" in etcd's sense.
    return { header: this.headers.header(result.ok.revision) };
  }
}

/** Whether any branch (recursively) writes a value: past the quota only deletes may pass. */
function txnHasPuts(request: etcdserverpb.ITxnRequest): boolean {
  const ops = [...(request.success ?? []), ...(request.failure ?? [])];
  return ops.some(
    (op) => op.requestPut != null || (op.requestTxn != null && txnHasPuts(op.requestTxn)),
  );
}
