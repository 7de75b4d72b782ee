// Replicated commands: versioned records proposed through Raft and applied by
// every member. `from` and `id` name the proposing member and its request id
// (together they resolve the waiting request), `at` the proposer's wall clock in ms: time enters the state machine
// only here, which keeps apply deterministic.

import { Packr } from "msgpackr";
import { assert } from "../util/assert.js";
import type { AlarmKind } from "./alarm-table.js";
import type { ClusterChangeKind } from "./cluster-members.js";
import { PLATFORM_COMMAND_KINDS, type PlatformCommand } from "./platform/commands.js";
import type { RangeQuery } from "./range.js";

export const COMMAND_VERSION = 1;

export interface CommandBase {
  readonly v: typeof COMMAND_VERSION;
  /** Request id chosen by the proposing node; unique across its restarts, not across members. */
  readonly id: number;
  /**
   * Raft id of the proposing member. Ids are only unique per member, so a
   * member resolves a waiter only for its own commands. Absent in entries
   * written before the field existed: those resolve nobody.
   */
  readonly from?: number;
  /** Proposer's wall clock, milliseconds since the epoch. */
  readonly at: number;
}

/** etcd PutRequest. The handler rejects ignoreValue with a value and ignoreLease with a lease. */
export interface PutOp {
  readonly kind: "put";
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** 0 = no lease. */
  readonly lease: number;
  readonly prevKv: boolean;
  readonly ignoreValue: boolean;
  readonly ignoreLease: boolean;
}

/** etcd DeleteRangeRequest. */
export interface DeleteRangeOp {
  readonly kind: "delete-range";
  readonly key: Uint8Array;
  /** Empty = single key; [0] = every key >= key; otherwise [key, rangeEnd). */
  readonly rangeEnd: Uint8Array;
  readonly prevKv: boolean;
}

/** etcd RangeRequest inside a Txn (serializable is meaningless there). */
export interface RangeOp extends RangeQuery {
  readonly kind: "range";
}

export type CompareTarget = "version" | "create" | "mod" | "value" | "lease";
export type CompareResult = "equal" | "greater" | "less" | "not-equal";

/**
 * etcd Compare. The operand is `value` for target "value" and `operand` for
 * every other target (version, create/mod revision, lease id); the handler
 * copies whichever target_union field is set and leaves the other at its zero.
 */
export interface Compare {
  readonly key: Uint8Array;
  /** Same convention as DeleteRangeOp.rangeEnd; every key in range must satisfy the compare. */
  readonly rangeEnd: Uint8Array;
  readonly target: CompareTarget;
  readonly result: CompareResult;
  readonly operand: number;
  readonly value: Uint8Array;
}

export interface TxnRequest {
  readonly compare: readonly Compare[];
  readonly success: readonly RequestOp[];
  readonly failure: readonly RequestOp[];
}

export interface TxnOp extends TxnRequest {
  readonly kind: "txn";
}

/** etcd RequestOp: one op of a Txn branch. */
export type RequestOp = RangeOp | PutOp | DeleteRangeOp | TxnOp;

export interface PutCommand extends CommandBase, PutOp {}

export interface DeleteRangeCommand extends CommandBase, DeleteRangeOp {}

export interface TxnCommand extends CommandBase, TxnRequest {
  readonly kind: "txn";
}

export interface CompactCommand extends CommandBase {
  readonly kind: "compact";
  readonly revision: number;
}

/**
 * `leaseId` 0 asks the state machine to pick a free id (deterministically).
 * The handler must send 0 or a positive safe integer (apply asserts it).
 */
export interface LeaseGrantCommand extends CommandBase {
  readonly kind: "lease-grant";
  readonly leaseId: number;
  /** Stored as sent: the handler raises it to etcd's minimum and rejects > 9e9 (apply asserts >= 1). */
  readonly ttlSeconds: number;
}

export interface LeaseRevokeCommand extends CommandBase {
  readonly kind: "lease-revoke";
  readonly leaseId: number;
  /**
   * Set by the leader's expiry driver: revoke only if the lease is still
   * expired at `at`. A keep-alive ordered before the revoke moved the expiry,
   * so the revoke then changes nothing instead of undoing the renewal.
   */
  readonly onlyIfExpired?: boolean;
}

/** One keep-alive: expiry becomes `at` + the granted TTL. */
export interface LeaseRenewCommand extends CommandBase {
  readonly kind: "lease-renew";
  readonly leaseId: number;
}

/** Maintenance.Alarm ACTIVATE/DEACTIVATE; memberId 0 on deactivate clears every member's. */
export interface AlarmCommand extends CommandBase {
  readonly kind: "alarm";
  readonly action: "activate" | "deactivate";
  readonly memberId: number;
  readonly alarm: AlarmKind;
}

/** A member publishing its name and client URLs (etcd's attribute publish). */
export interface MemberAttributesCommand extends CommandBase {
  readonly kind: "member-attributes";
  readonly memberId: number;
  readonly name: string;
  readonly clientUrls: readonly string[];
}

/**
 * A Raft membership change, carried by a configuration-change entry (never a
 * normal one). A new cluster's log starts with one add-voter per initial
 * member, so the configuration is always in the log or in a snapshot.
 */
export interface ClusterMemberCommand extends CommandBase {
  readonly kind: "cluster-member";
  readonly change: ClusterChangeKind;
  readonly memberId: number;
  /** The member's name if known (initial members; "" for MemberAdd, as in etcd). */
  readonly name: string;
  /** host:port peer addresses; ignored by promote and remove. */
  readonly peerUrls: readonly string[];
}

/**
 * The leader's periodic corruption check: every member digests its non-KV
 * tables when it applies this, so all digest the same point of the log.
 * `checkpoint` is the leader's name for it; members are asked by that name.
 */
export interface DigestCheckpointCommand extends CommandBase {
  readonly kind: "digest-checkpoint";
  readonly checkpoint: number;
}

export type Command =
  | ClusterMemberCommand
  | MemberAttributesCommand
  | DigestCheckpointCommand
  | AlarmCommand
  | PutCommand
  | DeleteRangeCommand
  | TxnCommand
  | CompactCommand
  | LeaseGrantCommand
  | LeaseRevokeCommand
  | LeaseRenewCommand
  // Users, sessions, resources, locks, membership, op-log retention: see platform/commands.ts.
  | PlatformCommand;

const COMMAND_KINDS: ReadonlySet<string> = new Set<Command["kind"]>([
  "cluster-member",
  "member-attributes",
  "digest-checkpoint",
  "alarm",
  "put",
  "delete-range",
  "txn",
  "compact",
  "lease-grant",
  "lease-revoke",
  "lease-renew",
  ...(PLATFORM_COMMAND_KINDS as ReadonlySet<Command["kind"]>),
]);

// No shared record structures: each WAL record must decode on its own, even
// after a restart or on another member (see reference/ecosystem.md, msgpackr).
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

export function encodeCommand(command: Command): Uint8Array {
  return packr.pack(command);
}

export function decodeCommand(bytes: Uint8Array): Command {
  const raw: unknown = packr.unpack(bytes);
  assert(typeof raw === "object" && raw !== null, "command must decode to an object");
  const command = raw as Command;
  assert(command.v === COMMAND_VERSION, `unsupported command version ${String(command.v)}`);
  assert(typeof command.id === "number", "command id must be a number");
  assert(typeof command.at === "number", "command time must be a number");
  assert(
    command.from === undefined || typeof command.from === "number",
    "command origin must be a number",
  );
  assert(COMMAND_KINDS.has(command.kind), `unknown command kind ${String(command.kind)}`);
  if (PLATFORM_COMMAND_KINDS.has(command.kind)) {
    assert(
      typeof (command as PlatformCommand).actor === "string",
      "platform command actor must be a string",
    );
  }
  return command;
}
