// The etcd v3 and cairn.v1.Node RPCs the client uses, bound to their
// generated codecs (the platform services are in platform-methods.ts).
import { cairn } from "../gen/cairn.js";
import { etcdserverpb } from "../gen/etcd.js";
import { bidiMethod, serverStreamMethod, unaryMethod } from "./rpc.js";

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
export const LEASE_GRANT = unaryMethod(
  "/etcdserverpb.Lease/LeaseGrant",
  etcdserverpb.LeaseGrantRequest,
  etcdserverpb.LeaseGrantResponse,
);
export const LEASE_REVOKE = unaryMethod(
  "/etcdserverpb.Lease/LeaseRevoke",
  etcdserverpb.LeaseRevokeRequest,
  etcdserverpb.LeaseRevokeResponse,
);
export const LEASE_TIME_TO_LIVE = unaryMethod(
  "/etcdserverpb.Lease/LeaseTimeToLive",
  etcdserverpb.LeaseTimeToLiveRequest,
  etcdserverpb.LeaseTimeToLiveResponse,
);
export const LEASE_KEEP_ALIVE = bidiMethod(
  "/etcdserverpb.Lease/LeaseKeepAlive",
  etcdserverpb.LeaseKeepAliveRequest,
  etcdserverpb.LeaseKeepAliveResponse,
);
export const MAINTENANCE_STATUS = unaryMethod(
  "/etcdserverpb.Maintenance/Status",
  etcdserverpb.StatusRequest,
  etcdserverpb.StatusResponse,
);
export const MAINTENANCE_SNAPSHOT = serverStreamMethod(
  "/etcdserverpb.Maintenance/Snapshot",
  etcdserverpb.SnapshotRequest,
  etcdserverpb.SnapshotResponse,
);
export const MAINTENANCE_MOVE_LEADER = unaryMethod(
  "/etcdserverpb.Maintenance/MoveLeader",
  etcdserverpb.MoveLeaderRequest,
  etcdserverpb.MoveLeaderResponse,
);
export const NODE_STATUS = unaryMethod(
  "/cairn.v1.Node/Status",
  cairn.v1.NodeStatusRequest,
  cairn.v1.NodeStatusResponse,
);

export const CLUSTER_MEMBER_LIST = unaryMethod(
  "/etcdserverpb.Cluster/MemberList",
  etcdserverpb.MemberListRequest,
  etcdserverpb.MemberListResponse,
);
export const CLUSTER_MEMBER_ADD = unaryMethod(
  "/etcdserverpb.Cluster/MemberAdd",
  etcdserverpb.MemberAddRequest,
  etcdserverpb.MemberAddResponse,
);
export const CLUSTER_MEMBER_REMOVE = unaryMethod(
  "/etcdserverpb.Cluster/MemberRemove",
  etcdserverpb.MemberRemoveRequest,
  etcdserverpb.MemberRemoveResponse,
);
export const CLUSTER_MEMBER_UPDATE = unaryMethod(
  "/etcdserverpb.Cluster/MemberUpdate",
  etcdserverpb.MemberUpdateRequest,
  etcdserverpb.MemberUpdateResponse,
);
export const CLUSTER_MEMBER_PROMOTE = unaryMethod(
  "/etcdserverpb.Cluster/MemberPromote",
  etcdserverpb.MemberPromoteRequest,
  etcdserverpb.MemberPromoteResponse,
);
