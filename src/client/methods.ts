// The RPC methods the client uses, bound to their generated codecs.
import { cairn } from "../gen/cairn.js";
import { etcdserverpb } from "../gen/etcd.js";
import { unaryMethod } from "./rpc.js";

export const KV_RANGE = unaryMethod(
  "/etcdserverpb.KV/Range",
  etcdserverpb.RangeRequest,
  etcdserverpb.RangeResponse,
);
export const KV_PUT = unaryMethod(
  "/etcdserverpb.KV/Put",
  etcdserverpb.PutRequest,
  etcdserverpb.PutResponse,
);
export const KV_DELETE_RANGE = unaryMethod(
  "/etcdserverpb.KV/DeleteRange",
  etcdserverpb.DeleteRangeRequest,
  etcdserverpb.DeleteRangeResponse,
);
export const MAINTENANCE_STATUS = unaryMethod(
  "/etcdserverpb.Maintenance/Status",
  etcdserverpb.StatusRequest,
  etcdserverpb.StatusResponse,
);
export const NODE_STATUS = unaryMethod(
  "/cairn.v1.Node/Status",
  cairn.v1.NodeStatusRequest,
  cairn.v1.NodeStatusResponse,
);
