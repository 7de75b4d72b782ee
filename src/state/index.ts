// The public surface of the replicated state machine for the shell and the
// request handlers: commands, apply results, reads (range, watch history,
// hashKv, lease queries) and the request checks a handler runs before proposing.
//
// Handlers must validate before proposing (apply asserts some of these):
//  - every key (Range, Put, DeleteRange, Compare, ops inside a Txn) is non-empty: "key is not provided";
//  - Put: ignore_value with a value → "value is provided", ignore_lease with a lease → "lease is provided";
//  - Txn: validateTxn(request, maxTxnOps) for "too many operations" / "duplicate key" (apply repeats
//    it), and an empty RequestOp → "key not found" as etcd does;
//  - LeaseGrant: id 0 or a positive safe integer; TTL raised to the minimum (ceil(1.5 × election
//    timeout) seconds) and rejected above 9e9 with "too large lease TTL";
//  - Compact: revision an integer; Range: sort enums mapped, limit clamped at 0.
//
// Platform commands (platform/commands.ts) carry `actor`, the authenticated username ("" when
// anonymous); apply authorizes it against the replicated roles and re-runs every field check,
// so handlers may pre-check with the same validators (same messages) to fail fast:
//  - Register/Update password: validatePassword, then scrypt with SCRYPT_PARAMS and a fresh
//    random salt; only {salt, hash} is proposed. Login: read the user, scrypt-verify with
//    timingSafeEqual, draw a random token, propose user-login with the user's version and
//    tokenDigest(token); return the token once. Verify bearer tokens with
//    platform.verifySession(tokenDigest(token), <the handler's wall clock>) on any member.
//  - lock-acquire / member-join with lease 0: raise ttlSeconds to the lease minimum first.
//  - Map proto zero values: page_size 0 → 100, weight 0 → 1, replicas 0 → 1, ttl_ms 0 → 24 h.
//  - Results of kind "platform-error" carry {code, message}; map the code to the gRPC status
//    of the same name and pass the message through.

export { type Alarm, type AlarmKind, AlarmTable } from "./alarm-table.js";
export type {
  Applied,
  ApplyError,
  ApplyErrorCode,
  ApplyResult,
  CompactResult,
  DeleteRangeResult,
  LeaseGrantResult,
  LeaseRenewResult,
  LeaseRevokeResult,
  PutResult,
  ResponseOp,
  TxnResult,
} from "./apply-result.js";
export {
  type AlarmCommand,
  COMMAND_VERSION,
  type Command,
  type CompactCommand,
  type Compare,
  type CompareResult,
  type CompareTarget,
  type DeleteRangeCommand,
  type DeleteRangeOp,
  decodeCommand,
  encodeCommand,
  type LeaseGrantCommand,
  type LeaseRenewCommand,
  type LeaseRevokeCommand,
  type PutCommand,
  type PutOp,
  type RangeOp,
  type RequestOp,
  type TxnCommand,
  type TxnOp,
  type TxnRequest,
} from "./command.js";
export { inRange, type KeyRange, keyBytes, keyString, toKeyRange } from "./key-range.js";
export {
  LEASE_ID_MAX,
  type LeaseRecord,
  LeaseTable,
  type LeaseTimeToLive,
} from "./lease-table.js";
export { type MemberAttributes, MemberAttributesTable } from "./member-attributes.js";
export {
  type EventsSinceResult,
  eventsSince,
  type HashKvResult,
  type HistoryQuery,
  hashKv,
} from "./mvcc/history.js";
export type { KeyValue, WatchEvent } from "./mvcc/key-value.js";
export { type KvReadView, MvccStore } from "./mvcc/mvcc-store.js";
export {
  ACTIONS,
  type Action,
  authorize,
  authorizeRoles,
  isRole,
  ROLES,
  type Role,
} from "./platform/authorize.js";
export type {
  Fence,
  LockAcquireCommand,
  LockReleaseCommand,
  MemberJoinCommand,
  MemberLeaveCommand,
  OpLogRetentionCommand,
  PasswordHash,
  PlatformCommand,
  ResourceCreateCommand,
  ResourceInstallCommand,
  ResourceLifecycleCommand,
  ResourceUpdateCommand,
  UserDeleteCommand,
  UserLoginCommand,
  UserLogoutCommand,
  UserRegisterCommand,
  UserUpdateCommand,
} from "./platform/commands.js";
export type { PlatformError, PlatformErrorCode } from "./platform/errors.js";
export {
  LIFECYCLE_ACTIONS,
  type LifecycleAction,
  TRANSITIONS,
  transition,
} from "./platform/lifecycle.js";
export {
  type GroupMember,
  MEMBERS_PER_GROUP_MAX,
  type MembershipChange,
  REPLICAS_MAX,
  validateJoin,
  validateLocate,
  WEIGHT,
} from "./platform/membership.js";
export {
  DEFAULT_RETENTION,
  OPLOG_PAGE_MAX,
  type OpLogRecord,
  type OpLogRetention,
  RETENTION_LIMITS,
} from "./platform/oplog.js";
export { PLATFORM_TABLES, Platform, type SessionIdentity } from "./platform/platform.js";
export {
  LOCK_WAITERS_MAX,
  type LockHolder,
  type LockWaiter,
  type PlatformLock,
} from "./platform/platform-locks.js";
export type {
  LocateAnswer,
  OpLogListPage,
  OpLogListRequest,
  UserPage,
} from "./platform/reads.js";
export { USER_PAGE_MAX } from "./platform/reads.js";
export { locate, movedFraction, type RendezvousMember } from "./platform/rendezvous.js";
export {
  parseLabelSelector,
  RESOURCE_PAGE_MAX,
  RESOURCE_SORT_FIELDS,
  type ResourceFilter,
  type ResourceListPage,
  type ResourceListQuery,
  type ResourceSortField,
  type ResourceStats,
} from "./platform/resource-list.js";
export {
  type BackupPolicy,
  DATABASE_ENGINES,
  type DatabaseEngine,
  type DatabaseSpec,
  type InstalledSoftware,
  LOAD_BALANCER_ALGORITHMS,
  type LoadBalancer,
  type LoadBalancerAlgorithm,
  RESOURCE_KINDS,
  RESOURCE_STATUSES,
  type Resource,
  type ResourceFields,
  type ResourceKind,
  type ResourceSpec,
  type ResourceStatus,
  type ServerSpec,
  type SslCertificate,
} from "./platform/resource-types.js";
export {
  validateFence,
  validateFields,
  validatePatch,
  validateSoftware,
  validateSpec,
} from "./platform/resource-validate.js";
export type {
  LockAcquireResult,
  LockReleaseResult,
  LoginResult,
  LogoutResult,
  MemberJoinResult,
  MemberLeaveResult,
  OpLogRetentionResult,
  PlatformEvent,
  PlatformResult,
  ResourceResult,
  UserDeleteResult,
  UserResult,
} from "./platform/results.js";
export { SESSION_TTL_MS, tokenDigest } from "./platform/sessions.js";
export {
  PASSWORD_LENGTH,
  SCRYPT_PARAMS,
  type UserView,
  validateContact,
  validatePassword,
  validateUsername,
} from "./platform/users.js";
export {
  checkRangeRevision,
  effectiveSortOrder,
  type RangeAnswer,
  type RangeQuery,
  type RangeResult,
  type RangeRevisionError,
  rangeQuery,
  type SortOrder,
  type SortTarget,
} from "./range.js";
export { StateMachine, type StateMachineOptions } from "./state-machine.js";
export type { TableWrite } from "./table-write.js";
export { MAX_TXN_OPS, type TxnValidationError, validateTxn } from "./txn-validate.js";
