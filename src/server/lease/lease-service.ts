// etcd's Lease service definition (method paths and codecs) on the client
// port; the handlers live in lease-handlers.ts and keep-alive.ts.
import { etcdserverpb } from "../../gen/etcd.js";
import { bidiMethod, unaryMethod } from "../../transport/grpc-codec.js";

export const LEASE_SERVICE = {
  LeaseGrant: unaryMethod(
    "/etcdserverpb.Lease/LeaseGrant",
    etcdserverpb.LeaseGrantRequest,
    etcdserverpb.LeaseGrantResponse,
  ),
  LeaseRevoke: unaryMethod(
    "/etcdserverpb.Lease/LeaseRevoke",
    etcdserverpb.LeaseRevokeRequest,
    etcdserverpb.LeaseRevokeResponse,
  ),
  LeaseKeepAlive: bidiMethod(
    "/etcdserverpb.Lease/LeaseKeepAlive",
    etcdserverpb.LeaseKeepAliveRequest,
    etcdserverpb.LeaseKeepAliveResponse,
  ),
  LeaseTimeToLive: unaryMethod(
    "/etcdserverpb.Lease/LeaseTimeToLive",
    etcdserverpb.LeaseTimeToLiveRequest,
    etcdserverpb.LeaseTimeToLiveResponse,
  ),
  LeaseLeases: unaryMethod(
    "/etcdserverpb.Lease/LeaseLeases",
    etcdserverpb.LeaseLeasesRequest,
    etcdserverpb.LeaseLeasesResponse,
  ),
};
