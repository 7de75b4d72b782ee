// The replicated state machine: applies decoded commands to the MVCC keyspace,
// the lease table and the platform tables (platform/), and answers reads. apply() is a pure function of
// (state, command): it returns the result for the waiting request, the writes
// the shell must persist with the applied index, and the watch events.
import { assert, assertNever } from "../util/assert.js";
import { ALARM_TABLE, AlarmTable } from "./alarm-table.js";
import type { Applied, ApplyErrorCode } from "./apply-result.js";
import { CLUSTER_MEMBERS_TABLE, ClusterMembersTable } from "./cluster-members.js";
import type {
  AlarmCommand,
  ClusterMemberCommand,
  Command,
  CompactCommand,
  DeleteRangeCommand,
  DigestCheckpointCommand,
  LeaseGrantCommand,
  LeaseRenewCommand,
  LeaseRevokeCommand,
  MemberAttributesCommand,
  PutCommand,
  TxnCommand,
} from "./command.js";
import { keyString } from "./key-range.js";
import { checkPutIgnore, checkPutLease, execDeleteRange, execPut } from "./kv-ops.js";
import { LEASE_TABLE, LeaseTable, type LeaseTimeToLive } from "./lease-table.js";
import { MEMBER_ATTRIBUTES_TABLE, MemberAttributesTable } from "./member-attributes.js";
import { compact } from "./mvcc/compaction.js";
import {
  type EventsSinceResult,
  eventsSince,
  type HashKvResult,
  type HistoryQuery,
  hashKv,
} from "./mvcc/history.js";
import type { WatchEvent } from "./mvcc/key-value.js";
import { KV_META_TABLE, KV_TABLE, type LatestChange, MvccStore } from "./mvcc/mvcc-store.js";
import { WriteTxn } from "./mvcc/write-txn.js";
import type { PlatformCommand } from "./platform/commands.js";
import { PLATFORM_TABLES, Platform } from "./platform/platform.js";
import { type RangeQuery, type RangeResult, rangeQuery } from "./range.js";
import {
  type DigestCheckpoint,
  DigestCheckpoints,
  type StateDigest,
  StateDigester,
} from "./state-digest.js";
import { runTxn } from "./txn.js";
import { MAX_TXN_OPS, validateTxn } from "./txn-validate.js";

// The shell and the handlers import the result types from here.
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

export interface StateMachineOptions {
  /** etcd --max-txn-ops. Part of the replicated logic: every member must use the same value. */
  readonly maxTxnOps: number;
}

/** Checkpoints kept for the leader to ask about; it asks within seconds of proposing one. */
const DIGEST_CHECKPOINTS_KEPT = 8;

function failed(code: ApplyErrorCode): Applied {
  return { result: { kind: "error", code }, writes: [], events: [] };
}

export class StateMachine {
  readonly kv = new MvccStore();
  readonly leases = new LeaseTable();
  readonly alarms = new AlarmTable();
  readonly memberAttributes = new MemberAttributesTable();
  /** The Raft membership (ids, names, peer URLs, learners). */
  readonly clusterMembers = new ClusterMembersTable();
  /** Users, sessions, resources, op log, platform locks, membership: one revision with the KV. */
  readonly platform = new Platform(this.kv, this.leases);
  private readonly maxTxnOps: number;
  private readonly checkpoints = new DigestCheckpoints(DIGEST_CHECKPOINTS_KEPT);

  /** The tables the state digest covers: every table but the KV's, which HashKV covers. */
  static readonly digestTables: readonly string[] = [
    LEASE_TABLE,
    ALARM_TABLE,
    MEMBER_ATTRIBUTES_TABLE,
    ...PLATFORM_TABLES,
  ];

  /** Every table apply writes; the shell loads each one through loadRow at boot. */
  static readonly tables: readonly string[] = [
    KV_TABLE,
    KV_META_TABLE,
    LEASE_TABLE,
    ALARM_TABLE,
    ...PLATFORM_TABLES,
    MEMBER_ATTRIBUTES_TABLE,
    CLUSTER_MEMBERS_TABLE,
  ];

  constructor(options: StateMachineOptions = { maxTxnOps: MAX_TXN_OPS }) {
    assert(Number.isSafeInteger(options.maxTxnOps) && options.maxTxnOps >= 1, "bad maxTxnOps");
    this.maxTxnOps = options.maxTxnOps;
  }

  apply(command: Command): Applied {
    switch (command.kind) {
      case "alarm":
        return this.applyAlarm(command);
      case "member-attributes":
        return this.applyMemberAttributes(command);
      case "cluster-member":
        return this.applyClusterMember(command);
      case "digest-checkpoint":
        return this.applyDigestCheckpoint(command);
      case "put":
        return this.applyPut(command);
      case "delete-range":
        return this.applyDeleteRange(command);
      case "txn":
        return this.applyTxn(command);
      case "compact":
        return this.applyCompact(command);
      case "lease-grant":
        return this.applyLeaseGrant(command);
      case "lease-revoke":
        return this.applyLeaseRevoke(command);
      case "lease-renew":
        return this.applyLeaseRenew(command);
      case "user-register":
      case "user-update":
      case "user-delete":
      case "user-login":
      case "user-logout":
      case "resource-create":
      case "resource-update":
      case "resource-lifecycle":
      case "resource-install":
      case "lock-acquire":
      case "lock-release":
      case "member-join":
      case "member-leave":
      case "oplog-retention":
        return this.applyPlatform(command);
      default:
        return assertNever(command, "command kind");
    }
  }

  /** Restores one persisted row at boot. Rows of all tables may arrive in any order. */
  loadRow(table: string, key: Uint8Array, value: Uint8Array): void {
    if (table === MEMBER_ATTRIBUTES_TABLE) {
      this.memberAttributes.loadRow(key, value);
      return;
    }
    if (table === CLUSTER_MEMBERS_TABLE) {
      this.clusterMembers.loadRow(key, value);
      return;
    }
    if (table === ALARM_TABLE) {
      this.alarms.loadRow(key);
      return;
    }
    if (table === LEASE_TABLE) {
      this.leases.loadRow(key, value);
      return;
    }
    if (this.platform.loadRow(table, key, value)) {
      return;
    }
    const change = this.kv.loadRow(table, key, value);
    if (change !== null) {
      this.restoreAttachment(change);
    }
  }

  /** Range at the current state (or query.revision); typed errors for FutureRev/Compacted. */
  range(query: RangeQuery): RangeResult {
    return rangeQuery(this.kv, query);
  }

  /** Watch catch-up from history; see mvcc/history.ts. */
  eventsSince(query: HistoryQuery): EventsSinceResult {
    return eventsSince(this.kv, query);
  }

  /** Maintenance.HashKV; revision 0 = current. */
  hashKv(revision: number): HashKvResult {
    return hashKv(this.kv, revision);
  }

  /** The digest of the non-KV tables as they are now (see state-digest.ts). */
  digestTables(): StateDigest {
    const digester = new StateDigester(StateMachine.digestTables);
    this.leases.visitRows(digester.visit);
    this.alarms.visitRows(digester.visit);
    this.memberAttributes.visitRows(digester.visit);
    this.platform.visitRows(digester.visit);
    return digester.result();
  }

  /** What this member digested at a checkpoint it applied (recently, and since it started). */
  digestAt(checkpoint: number): DigestCheckpoint | undefined {
    return this.checkpoints.get(checkpoint);
  }

  /** Lease.TimeToLive against the caller's clock (ttl -1 when unknown). */
  timeToLive(leaseId: number, nowMs: number): LeaseTimeToLive {
    return this.leases.timeToLive(leaseId, nowMs);
  }

  /**
   * Membership changes no key and no revision. A refused change (checked by
   * the handler, so only a race gets here) leaves the table alone; the shell
   * then leaves the Raft configuration alone too.
   */
  private applyClusterMember(command: ClusterMemberCommand): Applied {
    const refusal = this.clusterMembers.refusal(command.change, command.memberId);
    if (refusal !== null) {
      return failed(refusal);
    }
    const writes = this.clusterMembers.apply(command.change, {
      id: command.memberId,
      name: command.name,
      peerUrls: command.peerUrls,
    });
    return {
      result: { kind: "cluster-member", ok: { members: this.clusterMembers.list() } },
      writes,
      events: [],
    };
  }

  /** Like alarms, published attributes change no key and no revision. */
  private applyMemberAttributes(command: MemberAttributesCommand): Applied {
    const writes = this.memberAttributes.publish({
      memberId: command.memberId,
      name: command.name,
      clientUrls: command.clientUrls,
    });
    return {
      result: { kind: "member-attributes", ok: { memberId: command.memberId } },
      writes,
      events: [],
    };
  }

  /** Changes nothing replicated: records this member's digest at this point of the log. */
  private applyDigestCheckpoint(command: DigestCheckpointCommand): Applied {
    const ok = {
      checkpoint: command.checkpoint,
      revision: this.kv.revision,
      state: this.digestTables(),
    };
    this.checkpoints.record(ok);
    return { result: { kind: "digest-checkpoint", ok }, writes: [], events: [] };
  }

  /** Alarms change no key and no revision: they only gate which requests are admitted. */
  private applyAlarm(command: AlarmCommand): Applied {
    const alarm = { memberId: command.memberId, alarm: command.alarm };
    const writes =
      command.action === "activate" ? this.alarms.activate(alarm) : this.alarms.deactivate(alarm);
    return { result: { kind: "alarm", ok: { alarms: this.alarms.list() } }, writes, events: [] };
  }

  private applyPut(command: PutCommand): Applied {
    // etcd's order for a lone Put: the lease first, then ignore_value/ignore_lease.
    const error = checkPutLease(this.leases, command) ?? checkPutIgnore(this.kv, command);
    if (error !== null) {
      return failed(error);
    }
    const txn = new WriteTxn(this.kv);
    const ok = execPut(txn, command);
    const committed = txn.commit();
    assert(ok.revision === committed.revision, "put revision must be the committed one");
    this.trackLeases(committed.events);
    return { result: { kind: "put", ok }, writes: committed.writes, events: committed.events };
  }

  private applyDeleteRange(command: DeleteRangeCommand): Applied {
    const txn = new WriteTxn(this.kv);
    const ok = execDeleteRange(txn, command);
    const committed = txn.commit();
    assert(ok.revision === committed.revision, "delete revision must be the committed one");
    this.trackLeases(committed.events);
    const result = { kind: "delete-range", ok } as const;
    return { result, writes: committed.writes, events: committed.events };
  }

  private applyTxn(command: TxnCommand): Applied {
    const invalid = validateTxn(command, this.maxTxnOps);
    if (invalid !== null) {
      return failed(invalid);
    }
    const txn = new WriteTxn(this.kv);
    const outcome = runTxn(txn, this.leases, command);
    if (outcome.kind === "error") {
      assert(!txn.changed, "a failed txn must not have written");
      txn.commit();
      return failed(outcome.code);
    }
    const committed = txn.commit();
    assert(outcome.ok.revision === committed.revision, "txn revision must be the committed one");
    this.trackLeases(committed.events);
    return { result: outcome, writes: committed.writes, events: committed.events };
  }

  private applyCompact(command: CompactCommand): Applied {
    assert(Number.isSafeInteger(command.revision), "compact revision must be an integer");
    const outcome = compact(this.kv, command.revision);
    if (outcome.kind === "error") {
      return failed(outcome.code);
    }
    const ok = { revision: this.kv.revision, compactRevision: this.kv.compactRevision };
    return { result: { kind: "compact", ok }, writes: outcome.writes, events: [] };
  }

  private applyLeaseGrant(command: LeaseGrantCommand): Applied {
    // The handler guarantees these (see command.ts); asserting first keeps a bug from half-applying.
    assert(Number.isSafeInteger(command.leaseId) && command.leaseId >= 0, "bad lease id");
    assert(Number.isSafeInteger(command.ttlSeconds) && command.ttlSeconds >= 1, "bad lease TTL");
    const id =
      command.leaseId === 0 ? this.leases.pickId(command.id, this.kv.revision) : command.leaseId;
    if (this.leases.has(id)) {
      return failed("lease-exists");
    }
    const write = this.leases.grant(id, command.ttlSeconds, command.at);
    const ok = { revision: this.kv.revision, id, ttlSeconds: command.ttlSeconds };
    return { result: { kind: "lease-grant", ok }, writes: [write], events: [] };
  }

  /** Deletes every attached key in one revision (sorted, as etcd does), then the lease. */
  private applyLeaseRevoke(command: LeaseRevokeCommand): Applied {
    const record = this.leases.get(command.leaseId);
    if (record === undefined) {
      return failed("lease-not-found");
    }
    if (command.onlyIfExpired === true && record.expiresAtMs > command.at) {
      return failed("lease-not-expired");
    }
    const txn = new WriteTxn(this.kv);
    const keys = this.leases.attachedKeys(command.leaseId);
    for (const key of keys) {
      const deleted = txn.deleteRange({ start: key, end: null });
      assert(deleted.length === 1, `key attached to lease ${command.leaseId} is not live`);
    }
    const committed = txn.commit();
    this.trackLeases(committed.events);
    // Platform locks and members bound to the lease go in the same apply (and revision, if any keys went).
    const platform = this.platform.onLeaseRevoked(command.leaseId, command.at, txn.changed);
    const writes = [
      ...committed.writes,
      ...(platform?.writes ?? []),
      this.leases.revoke(command.leaseId),
    ];
    const ok = { revision: platform?.revision ?? committed.revision, deleted: keys.length };
    const result = { kind: "lease-revoke", ok } as const;
    if (platform === null) return { result, writes, events: committed.events };
    return { result, writes, events: committed.events, platform: platform.events };
  }

  /** Users, sessions, resources, locks, membership and op-log retention (platform/platform.ts). */
  private applyPlatform(command: PlatformCommand): Applied {
    const applied = this.platform.apply(command);
    return { result: applied.result, writes: applied.writes, events: [], platform: applied.events };
  }

  /** A keep-alive on an unknown lease, or one already expired by the proposer's clock, fails as in etcd. */
  private applyLeaseRenew(command: LeaseRenewCommand): Applied {
    const record = this.leases.get(command.leaseId);
    if (record === undefined || record.expiresAtMs <= command.at) {
      return failed("lease-not-found");
    }
    const write = this.leases.renew(command.leaseId, command.at);
    const ok = { revision: this.kv.revision, id: record.id, ttlSeconds: record.grantedTtlSeconds };
    return { result: { kind: "lease-renew", ok }, writes: [write], events: [] };
  }

  /** Lease attachment follows the key's newest value: detach the replaced value's lease, attach the new one. */
  private trackLeases(events: readonly WatchEvent[]): void {
    for (const event of events) {
      const key = keyString(event.kv.key);
      if (event.prevKv !== null && event.prevKv.lease !== 0) {
        this.leases.detach(event.prevKv.lease, key);
      }
      if (event.type === "put" && event.kv.lease !== 0) {
        assert(this.leases.has(event.kv.lease), `put attached to unknown lease ${event.kv.lease}`);
        this.leases.attach(event.kv.lease, key);
      }
    }
  }

  private restoreAttachment(change: LatestChange): void {
    if (change.before !== undefined && change.before.lease !== 0) {
      this.leases.detach(change.before.lease, change.key);
    }
    if (change.after !== undefined && change.after.lease !== 0) {
      this.leases.attach(change.after.lease, change.key);
    }
  }
}
