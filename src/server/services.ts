// gRPC service definitions served on the client port, bound to the generated
// codecs: etcd's KV, Maintenance and Cluster (the parts implemented so far)
// and cairn.v1.Node. grpc-js answers UNIMPLEMENTED for any other method.
import type { Metadata, ServerUnaryCall, sendUnaryData } from "@grpc/grpc-js";
import { cairn } from "../gen/cairn.js";
import { etcdserverpb } from "../gen/etcd.js";
import { serverStreamMethod, unaryMethod } from "../transport/grpc-codec.js";
import { TRACE_ENABLED, trace } from "../util/latency-trace.js";
import { CairnError, toServiceError } from "./errors.js";

export const KV_SERVICE = {
  Txn: unaryMethod("/etcdserverpb.KV/Txn", etcdserverpb.TxnRequest, etcdserverpb.TxnResponse),
  Compact: unaryMethod(
    "/etcdserverpb.KV/Compact",
    etcdserverpb.CompactionRequest,
    etcdserverpb.CompactionResponse,
  ),
  Range: unaryMethod(
    "/etcdserverpb.KV/Range",
    etcdserverpb.RangeRequest,
    etcdserverpb.RangeResponse,
  ),
  Put: unaryMethod("/etcdserverpb.KV/Put", etcdserverpb.PutRequest, etcdserverpb.PutResponse),
  DeleteRange: unaryMethod(
    "/etcdserverpb.KV/DeleteRange",
    etcdserverpb.DeleteRangeRequest,
    etcdserverpb.DeleteRangeResponse,
  ),
};

export const MAINTENANCE_SERVICE = {
  Alarm: unaryMethod(
    "/etcdserverpb.Maintenance/Alarm",
    etcdserverpb.AlarmRequest,
    etcdserverpb.AlarmResponse,
  ),
  Defragment: unaryMethod(
    "/etcdserverpb.Maintenance/Defragment",
    etcdserverpb.DefragmentRequest,
    etcdserverpb.DefragmentResponse,
  ),
  Hash: unaryMethod(
    "/etcdserverpb.Maintenance/Hash",
    etcdserverpb.HashRequest,
    etcdserverpb.HashResponse,
  ),
  HashKV: unaryMethod(
    "/etcdserverpb.Maintenance/HashKV",
    etcdserverpb.HashKVRequest,
    etcdserverpb.HashKVResponse,
  ),
  Snapshot: serverStreamMethod(
    "/etcdserverpb.Maintenance/Snapshot",
    etcdserverpb.SnapshotRequest,
    etcdserverpb.SnapshotResponse,
  ),
  Status: unaryMethod(
    "/etcdserverpb.Maintenance/Status",
    etcdserverpb.StatusRequest,
    etcdserverpb.StatusResponse,
  ),
  MoveLeader: unaryMethod(
    "/etcdserverpb.Maintenance/MoveLeader",
    etcdserverpb.MoveLeaderRequest,
    etcdserverpb.MoveLeaderResponse,
  ),
};

export const CLUSTER_SERVICE = {
  MemberAdd: unaryMethod(
    "/etcdserverpb.Cluster/MemberAdd",
    etcdserverpb.MemberAddRequest,
    etcdserverpb.MemberAddResponse,
  ),
  MemberRemove: unaryMethod(
    "/etcdserverpb.Cluster/MemberRemove",
    etcdserverpb.MemberRemoveRequest,
    etcdserverpb.MemberRemoveResponse,
  ),
  MemberUpdate: unaryMethod(
    "/etcdserverpb.Cluster/MemberUpdate",
    etcdserverpb.MemberUpdateRequest,
    etcdserverpb.MemberUpdateResponse,
  ),
  MemberPromote: unaryMethod(
    "/etcdserverpb.Cluster/MemberPromote",
    etcdserverpb.MemberPromoteRequest,
    etcdserverpb.MemberPromoteResponse,
  ),
  MemberList: unaryMethod(
    "/etcdserverpb.Cluster/MemberList",
    etcdserverpb.MemberListRequest,
    etcdserverpb.MemberListResponse,
  ),
};

export const NODE_SERVICE = {
  Status: unaryMethod(
    "/cairn.v1.Node/Status",
    cairn.v1.NodeStatusRequest,
    cairn.v1.NodeStatusResponse,
  ),
  StateDigest: unaryMethod(
    "/cairn.v1.Node/StateDigest",
    cairn.v1.StateDigestRequest,
    cairn.v1.StateDigestResponse,
  ),
};

/**
 * etcd clients send `hasleader: true` on calls that must fail fast when the
 * member has lost its leader rather than wait for a request timeout.
 */
export function requireLeaderIfAsked(metadata: Metadata, hasLeader: () => boolean): void {
  if (metadata.get("hasleader")[0] === "true" && !hasLeader()) {
    throw new CairnError("NO_LEADER");
  }
}

let leaderKnown: () => boolean = () => true;

/** Set once per process by serve.ts: how unary calls learn whether a leader is known. */
export function setLeaderProbe(probe: () => boolean): void {
  leaderKnown = probe;
}

/** Adapts a promise-returning handler to grpc-js, mapping thrown errors to statuses. */
export function unary<Req, Res>(
  handler: (request: Req) => Promise<Res> | Res,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    if (TRACE_ENABLED) trace("unary-in");
    Promise.resolve()
      .then(() => {
        requireLeaderIfAsked(call.metadata, leaderKnown);
        return handler(call.request);
      })
      .then(
        (response) => {
          callback(null, response);
          if (TRACE_ENABLED) trace("replied");
        },
        (error: unknown) => callback(toServiceError(error)),
      );
  };
}
