// What apply returns for each command kind, shaped like the etcd responses the
// handlers build from them (prev_kv(s), deleted count, txn responses, the
// store revision after apply), and the deterministic errors apply can decide.
import type { Alarm } from "./alarm-table.js";
import type { ClusterChangeError, ClusterMember } from "./cluster-members.js";
import type { KeyValue, WatchEvent } from "./mvcc/key-value.js";
import type { PlatformEvent, PlatformResult } from "./platform/results.js";
import type { RangeAnswer } from "./range.js";
import type { DigestCheckpoint } from "./state-digest.js";
import type { TableWrite } from "./table-write.js";

/**
 * Failures decided at apply time, identical on every member. etcd strings:
 * key-not-found "key not found", lease-not-found "requested lease not found",
 * lease-exists "lease already exists", compacted "mvcc: required revision has
 * been compacted", future-rev "mvcc: required revision is a future revision",
 * duplicate-key "duplicate key given in txn request", too-many-ops "too many
 * operations in txn request".
 */
export type ApplyErrorCode =
  | "key-not-found"
  | "lease-not-found"
  | "lease-exists"
  | "compacted"
  | "future-rev"
  | "duplicate-key"
  | "too-many-ops"
  | "lease-not-expired"
  | ClusterChangeError;

export interface ApplyError {
  readonly kind: "error";
  readonly code: ApplyErrorCode;
}

export interface PutResult {
  readonly revision: number;
  /** The replaced value; null when the key was new or prev_kv was not asked for. */
  readonly prevKv: KeyValue | null;
}

export interface DeleteRangeResult {
  readonly revision: number;
  readonly deleted: number;
  /** Empty unless prev_kv was asked for. */
  readonly prevKvs: readonly KeyValue[];
}

export interface TxnResult {
  /** The store revision after the txn (after this nested txn, for a nested one). */
  readonly revision: number;
  readonly succeeded: boolean;
  /** One per op of the branch taken, in order. */
  readonly responses: readonly ResponseOp[];
}

/** etcd ResponseOp. Each op's `revision` is what etcd puts in that op's header. */
export type ResponseOp =
  | { readonly kind: "range"; readonly ok: RangeAnswer }
  | { readonly kind: "put"; readonly ok: PutResult }
  | { readonly kind: "delete-range"; readonly ok: DeleteRangeResult }
  | { readonly kind: "txn"; readonly ok: TxnResult };

export interface CompactResult {
  readonly revision: number;
  readonly compactRevision: number;
}

export interface LeaseGrantResult {
  readonly revision: number;
  readonly id: number;
  readonly ttlSeconds: number;
}

export interface LeaseRevokeResult {
  readonly revision: number;
  /** Keys deleted with the lease (all in one revision). */
  readonly deleted: number;
}

export interface LeaseRenewResult {
  readonly revision: number;
  readonly id: number;
  /** The granted TTL the lease now has left. */
  readonly ttlSeconds: number;
}

export type ApplyResult =
  | { readonly kind: "alarm"; readonly ok: { readonly alarms: readonly Alarm[] } }
  | { readonly kind: "member-attributes"; readonly ok: { readonly memberId: number } }
  | {
      readonly kind: "cluster-member";
      readonly ok: { readonly members: readonly ClusterMember[] };
    }
  | { readonly kind: "digest-checkpoint"; readonly ok: DigestCheckpoint }
  | { readonly kind: "put"; readonly ok: PutResult }
  | { readonly kind: "delete-range"; readonly ok: DeleteRangeResult }
  | { readonly kind: "txn"; readonly ok: TxnResult }
  | { readonly kind: "compact"; readonly ok: CompactResult }
  | { readonly kind: "lease-grant"; readonly ok: LeaseGrantResult }
  | { readonly kind: "lease-revoke"; readonly ok: LeaseRevokeResult }
  | { readonly kind: "lease-renew"; readonly ok: LeaseRenewResult }
  | ApplyError
  // One kind per platform command, and "platform-error" with a code and message: platform/results.ts.
  | PlatformResult;

export interface Applied {
  readonly result: ApplyResult;
  /** Rows to persist, in order, in the same batch as the applied index. */
  readonly writes: readonly TableWrite[];
  /** Every key change of this command in (revision, sub-revision) order, for the watch hub. */
  readonly events: readonly WatchEvent[];
  /**
   * Changes of the platform tables (users, resources, locks, membership, op-log
   * records), in order, all at the command's revision. Absent when the command
   * touched no platform table (every etcd command but a lease revoke that
   * released platform locks or members).
   */
  readonly platform?: readonly PlatformEvent[];
}
