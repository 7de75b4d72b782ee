// The client library's public entry point: explicit named re-exports only.
// Everything else under src/client is internal and may change.
export {
  Cairn,
  CairnClient,
  type ClientOptions,
  type KeyValue,
  type LeaderMove,
  type NodeStatus,
} from "./client.js";
export type { AddMemberOptions, ClusterApi, ClusterMember } from "./cluster.js";
export {
  CairnAbortError,
  CairnRpcError,
  GrpcStatus,
  isUnauthenticated,
  LeaderNotFoundError,
  LeaseLostError,
  type MemberRef,
  UnknownMemberError,
} from "./errors.js";
export type { CallOptions } from "./invoker.js";
export type { LeaseKeepAlive } from "./keep-alive.js";
export type { LeaseGrant, LeaseTimeToLive } from "./lease.js";
export type { AcquireOptions, ReleaseOptions } from "./locks.js";
export type { JoinInput, JoinOptions, MemberHandle, MembershipUpdate } from "./membership.js";
export { createPicker, type MembershipView, type PickerKind } from "./membership-view.js";
export type { ListOpLogOptions, OpLogPage, WatchOpLogOptions } from "./oplog.js";
export { PageIterator } from "./pages.js";
export {
  KeyHashPicker,
  LeastLatencyPicker,
  type Picker,
  type PickerMember,
  RoundRobinPicker,
  WeightedPicker,
} from "./pickers.js";
export type {
  ActionOptions,
  ListResourcesOptions,
  WatchResourcesOptions,
} from "./resources.js";
export type { CallSafety } from "./retry-policy.js";
export type { SnapshotOptions, SnapshotSaved, SnapshotSink } from "./snapshot.js";
export type * from "./types.js";
export type { LoginResult, RegisterInput, UpdateUserInput } from "./users.js";
export type { Watch, WatchOptions } from "./watch-stream.js";
export type { LockContext, LockFence, LockOptions } from "./with-lock.js";
