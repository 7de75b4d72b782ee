// The platform part of the replicated state: users, sessions, resources, the
// op log, platform locks and membership groups, each in its own tables (never
// under user KV keys), sharing the MVCC store's global revision. apply() runs
// one platform command: decide (validate, authorize, check) and change
// through a PlatformTxn, then append its op-log record in the same apply.
import { assert, assertNever } from "../../util/assert.js";
import type { LeaseTable } from "../lease-table.js";
import type { MvccStore } from "../mvcc/mvcc-store.js";
import type { RowVisitor, TableWrite } from "../table-write.js";
import { applyLockAcquire, applyLockRelease, releaseLease } from "./apply-locks.js";
import { applyMemberJoin, applyMemberLeave } from "./apply-membership.js";
import {
  applyResourceCreate,
  applyResourceInstall,
  applyResourceLifecycle,
  applyResourceUpdate,
} from "./apply-resources.js";
import {
  applyLogin,
  applyLogout,
  applyRegister,
  applyUserDelete,
  applyUserUpdate,
} from "./apply-users.js";
import { PLATFORM_META_TABLE, readText } from "./codec.js";
import type { OpLogRetentionCommand, PlatformCommand } from "./commands.js";
import { type Decision, done, draftOf, type PlatformTables, requireActor } from "./context.js";
import { invalidArgument, isPlatformError, type PlatformError } from "./errors.js";
import { type GroupMember, MEMBER_TABLE, MembershipTable } from "./membership.js";
import { OPLOG_META, OPLOG_TABLE, OpLog, type OpLogRecord, RETENTION_LIMITS } from "./oplog.js";
import { LOCK_TABLE, LockTable, type PlatformLock } from "./platform-locks.js";
import { type CommittedPlatformTxn, PlatformTxn } from "./platform-txn.js";
import {
  type LocateAnswer,
  listOpLog,
  listUsers,
  locateKey,
  type OpLogListPage,
  type OpLogListRequest,
  opLogSequenceAtRevision,
  opLogSince,
  type UserPage,
} from "./reads.js";
import {
  listResources,
  type ResourceFilter,
  type ResourceListPage,
  type ResourceListQuery,
  type ResourceStats,
  resourceStats,
} from "./resource-list.js";
import type { Resource } from "./resource-types.js";
import {
  RESOURCE_HISTORY_META,
  RESOURCE_HISTORY_TABLE,
  RESOURCE_TABLE,
  ResourceTable,
} from "./resources.js";
import type { PlatformEvent, PlatformResult } from "./results.js";
import { SESSION_TABLE, SessionTable } from "./sessions.js";
import { USER_TABLE, UserTable, type UserView, userView } from "./users.js";

/** Every table the platform writes; the shell loads each one through loadRow at boot. */
export const PLATFORM_TABLES: readonly string[] = [
  USER_TABLE,
  SESSION_TABLE,
  RESOURCE_TABLE,
  RESOURCE_HISTORY_TABLE,
  OPLOG_TABLE,
  LOCK_TABLE,
  MEMBER_TABLE,
  PLATFORM_META_TABLE,
];

export interface PlatformApplied {
  readonly result: PlatformResult;
  readonly writes: readonly TableWrite[];
  readonly events: readonly PlatformEvent[];
}

/** What a verified bearer token stands for. */
export interface SessionIdentity {
  readonly user: UserView;
  readonly expiresAtMs: number;
}

export class Platform implements PlatformTables {
  readonly users = new UserTable();
  readonly sessions = new SessionTable();
  readonly resources = new ResourceTable();
  readonly oplog = new OpLog();
  readonly locks = new LockTable();
  readonly membership = new MembershipTable();

  constructor(
    readonly kv: MvccStore,
    readonly leases: LeaseTable,
  ) {}

  apply(command: PlatformCommand): PlatformApplied {
    const txn = new PlatformTxn(this.kv, this.oplog, false);
    const decision = this.decide(command, txn);
    // Every step checks before it writes; a refusal after a write would be a half-applied command.
    if (isPlatformError(decision)) assert(!txn.changed, `refused ${command.kind} wrote state`);
    const committed = txn.commit([draftOf(command, decision)], command.at);
    const result = isPlatformError(decision) ? decision : decision.result;
    return { result, writes: committed.writes, events: committed.events };
  }

  /**
   * The lease-revoke hook: releases the lease's locks and memberships. `shared`
   * when the revoke's KV deletes already advanced the revision (the platform
   * changes then share it). Null when the lease held nothing here.
   */
  onLeaseRevoked(leaseId: number, atMs: number, shared: boolean): CommittedPlatformTxn | null {
    const locks = this.locks.namesOfLease(leaseId);
    const members = this.membership.membersOfLease(leaseId);
    if (locks.length === 0 && members.length === 0) return null;
    const txn = new PlatformTxn(this.kv, this.oplog, shared);
    const drafts = releaseLease(this, leaseId, atMs, txn);
    assert(drafts.length === locks.length + members.length, "one op-log record per released hold");
    return txn.commit(drafts, atMs);
  }

  /** Every platform row exactly as persisted (see state-digest.ts). */
  visitRows(visit: RowVisitor): void {
    this.users.visitRows(visit);
    this.sessions.visitRows(visit);
    this.resources.visitRows(visit);
    this.oplog.visitRows(visit);
    this.locks.visitRows(visit);
    this.membership.visitRows(visit);
  }

  /** Restores one persisted row; false when the table is not a platform table. */
  loadRow(table: string, key: Uint8Array, value: Uint8Array): boolean {
    switch (table) {
      case USER_TABLE:
        this.users.loadRow(key, value);
        return true;
      case SESSION_TABLE:
        this.sessions.loadRow(key, value);
        return true;
      case RESOURCE_TABLE:
      case RESOURCE_HISTORY_TABLE:
        this.resources.loadRow(table, key, value);
        return true;
      case OPLOG_TABLE:
        this.oplog.loadRow(key, value);
        return true;
      case LOCK_TABLE:
        this.locks.loadRow(key, value);
        return true;
      case MEMBER_TABLE:
        this.membership.loadRow(key, value);
        return true;
      case PLATFORM_META_TABLE:
        this.loadMeta(readText(key), value);
        return true;
      default:
        return false;
    }
  }

  /** The user behind a token digest, if the session exists and has not expired by the reader's clock. */
  verifySession(tokenHash: string, nowMs: number): SessionIdentity | null {
    const session = this.sessions.verify(tokenHash, nowMs);
    const user = session === null ? undefined : this.users.get(session.username);
    return session === null || user === undefined
      ? null
      : { user: userView(user), expiresAtMs: session.expiresAtMs };
  }

  /** Users.Get/Me: never the password material. */
  getUser(username: string): UserView | undefined {
    const user = this.users.get(username);
    return user === undefined ? undefined : userView(user);
  }

  getResource(id: string): Resource | undefined {
    return this.resources.get(id);
  }

  /** Locks.Get: holder (with its token) and waiters in line order; undefined when free. */
  getLock(name: string): PlatformLock | undefined {
    return this.locks.get(name);
  }

  /** Membership.List: the committed members by id (also the input clients hash with). */
  listMembers(group: string): GroupMember[] {
    return this.membership.members(group);
  }

  /** Resources.List at the current revision, or at the revision a page token carries. */
  listResources(query: ResourceListQuery): ResourceListPage | PlatformError {
    return listResources(this.resources, this.kv.revision, query);
  }

  stats(filter: ResourceFilter): ResourceStats | PlatformError {
    return resourceStats(this.resources, this.kv.revision, filter);
  }

  listUsers(pageSize: number, pageToken: string): UserPage | PlatformError {
    return listUsers(this, pageSize, pageToken);
  }

  listOpLog(request: OpLogListRequest): OpLogListPage | PlatformError {
    return listOpLog(this, request);
  }

  opLogSince(sequence: number, limit: number): readonly OpLogRecord[] | PlatformError {
    return opLogSince(this, sequence, limit);
  }

  opLogSequenceAtRevision(revision: number): number | PlatformError {
    return opLogSequenceAtRevision(this, revision, this.kv.revision);
  }

  locate(group: string, key: string, replicas: number): LocateAnswer | PlatformError {
    return locateKey(this, group, key, replicas);
  }

  private loadMeta(name: string, value: Uint8Array): void {
    if (name === OPLOG_META) {
      this.oplog.loadMeta(value);
      return;
    }
    assert(name === RESOURCE_HISTORY_META, `unknown platform meta row ${name}`);
    this.resources.loadMeta(value);
  }

  private decide(command: PlatformCommand, txn: PlatformTxn): Decision {
    switch (command.kind) {
      case "user-register":
        return applyRegister(this, command, txn);
      case "user-update":
        return applyUserUpdate(this, command, txn);
      case "user-delete":
        return applyUserDelete(this, command, txn);
      case "user-login":
        return applyLogin(this, command, txn);
      case "user-logout":
        return applyLogout(this, command, txn);
      case "resource-create":
        return applyResourceCreate(this, command, txn);
      case "resource-update":
        return applyResourceUpdate(this, command, txn);
      case "resource-lifecycle":
        return applyResourceLifecycle(this, command, txn);
      case "resource-install":
        return applyResourceInstall(this, command, txn);
      case "lock-acquire":
        return applyLockAcquire(this, command, txn);
      case "lock-release":
        return applyLockRelease(this, command, txn);
      case "member-join":
        return applyMemberJoin(this, command, txn);
      case "member-leave":
        return applyMemberLeave(this, command, txn);
      case "oplog-retention":
        return this.applyRetention(command, txn);
      default:
        return assertNever(command, "platform command");
    }
  }

  private applyRetention(command: OpLogRetentionCommand, txn: PlatformTxn): Decision {
    const admin = requireActor(this, command.actor, "oplog.manage");
    if (isPlatformError(admin)) return admin;
    const invalid = retentionError(command);
    if (invalid !== null) return invalid;
    const before = this.oplog.retention;
    txn.change(this.oplog.setRetention(command));
    const pruned = this.oplog.prune(command.at);
    txn.change(pruned);
    const ok = { revision: txn.revision, retention: this.oplog.retention, pruned: pruned.length };
    const summary = (r: { maxRecords: number; maxAgeMs: number }) => ({
      max_records: String(r.maxRecords),
      max_age_ms: String(r.maxAgeMs),
    });
    return done({ kind: "oplog-retention", ok }, summary(before), summary(ok.retention));
  }
}

function retentionError(command: OpLogRetentionCommand): PlatformError | null {
  const { maxRecords, maxAgeMs } = RETENTION_LIMITS;
  if (
    !(
      Number.isSafeInteger(command.maxRecords) &&
      command.maxRecords >= maxRecords.min &&
      command.maxRecords <= maxRecords.max
    )
  ) {
    return invalidArgument(
      `retention.max_records must be ${maxRecords.min}..${maxRecords.max}, got ${command.maxRecords}`,
    );
  }
  if (
    !(
      Number.isSafeInteger(command.maxAgeMs) &&
      command.maxAgeMs >= maxAgeMs.min &&
      command.maxAgeMs <= maxAgeMs.max
    )
  ) {
    return invalidArgument(
      `retention.max_age_ms must be ${maxAgeMs.min}..${maxAgeMs.max}, got ${command.maxAgeMs}`,
    );
  }
  return null;
}
