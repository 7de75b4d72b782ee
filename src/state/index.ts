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
