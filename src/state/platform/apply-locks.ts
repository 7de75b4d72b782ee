// Apply steps for platform locks and the lease hook shared with membership:
// acquire (queue or, for TryAcquire, answer busy), release (the holder hands
// over to the first waiter, a waiter withdraws), and what a revoked lease
// releases. Lease binding: leaseId 0 grants a fresh lease inside the same
// apply, after every check passed, so a refused acquire leaves no lease behind.
import { assertNever } from "../../util/assert.js";
import { LEASE_ID_MAX } from "../lease-table.js";
import type { LockAcquireCommand, LockReleaseCommand } from "./commands.js";
import { type Decision, done, type PlatformTables, requireActor, SYSTEM_ACTOR } from "./context.js";
import {
  aborted,
  failedPrecondition,
  invalidArgument,
  isPlatformError,
  notFound,
  type PlatformError,
} from "./errors.js";
import { NO_SUMMARY, type OpLogDraft, type Summary } from "./oplog.js";
import { LOCK_WAITERS_MAX, type LockHolder, type PlatformLock } from "./platform-locks.js";
import type { PlatformTxn } from "./platform-txn.js";
import { LOCK_NAME } from "./resource-validate.js";

/** etcd's largest lease TTL ("too large lease TTL" above it). */
export const LEASE_TTL_SECONDS_MAX = 9_000_000_000;

/** Checks a lease reference: an existing lease, or 0 with a TTL for a new one. */
export function checkLease(
  tables: PlatformTables,
  leaseId: number,
  ttlSeconds: number,
): PlatformError | null {
  if (!(Number.isSafeInteger(leaseId) && leaseId >= 0 && leaseId <= LEASE_ID_MAX)) {
    return invalidArgument(`lease_id must be 0 (grant one) or a lease id, got ${leaseId}`);
  }
  if (leaseId === 0) {
    const ok =
      Number.isSafeInteger(ttlSeconds) && ttlSeconds >= 1 && ttlSeconds <= LEASE_TTL_SECONDS_MAX;
    return ok
      ? null
      : invalidArgument(
          `ttl_seconds must be 1..${LEASE_TTL_SECONDS_MAX} when lease_id is 0, got ${ttlSeconds}`,
        );
  }
  return tables.leases.has(leaseId) ? null : notFound(`lease ${leaseId} not found`);
}

/** The checked lease id, granting a new lease (deterministic id, as LeaseGrant with id 0) if asked. */
export function bindLease(
  tables: PlatformTables,
  txn: PlatformTxn,
  request: {
    readonly id: number;
    readonly at: number;
    readonly leaseId: number;
    readonly ttlSeconds: number;
  },
): number {
  if (request.leaseId !== 0) return request.leaseId;
  const id = tables.leases.pickId(request.id, tables.kv.revision);
  txn.change(tables.leases.grant(id, request.ttlSeconds, request.at));
  return id;
}

function lockEvent(txn: PlatformTxn, name: string, lock: PlatformLock | null) {
  return { table: "lock", revision: txn.revision, name, lock } as const;
}

function holderSummary(holder: LockHolder | null | undefined): Summary {
  if (holder === null || holder === undefined) return { holder: "none" };
  return {
    holder_lease: String(holder.leaseId),
    holder: holder.owner,
    token: String(holder.token),
  };
}

const LOCK_NAME_ALLOWED = "1..256 characters of [A-Za-z0-9._/:-]";

/**
 * The answer when the acquire changes nothing: the lease already holds or
 * waits (acquire is idempotent per lease), or TryAcquire found the lock held.
 */
function unchangedAnswer(tables: PlatformTables, command: LockAcquireCommand): Decision | null {
  const lock = tables.locks.get(command.name);
  const standing =
    command.leaseId === 0
      ? ({ kind: "absent" } as const)
      : tables.locks.standing(command.name, command.leaseId);
  if (standing.kind === "absent" && (lock === undefined || command.wait)) return null;
  const holder = lock?.holder ?? null;
  const base = {
    revision: tables.kv.revision,
    name: command.name,
    leaseId: command.leaseId,
    holder,
  };
  const summary = holderSummary(holder);
  switch (standing.kind) {
    case "holder": {
      const ok = { ...base, state: "held", token: standing.token, position: 0 } as const;
      return done({ kind: "lock-acquire", ok }, NO_SUMMARY, summary, "already-held");
    }
    case "waiter": {
      const ok = { ...base, state: "queued", token: 0, position: standing.position } as const;
      return done({ kind: "lock-acquire", ok }, NO_SUMMARY, summary, "already-queued");
    }
    case "absent": {
      const ok = { ...base, state: "busy", token: 0, position: 0 } as const;
      return done({ kind: "lock-acquire", ok }, NO_SUMMARY, summary, "busy");
    }
    default:
      return assertNever(standing, "lock standing");
  }
}

export function applyLockAcquire(
  tables: PlatformTables,
  command: LockAcquireCommand,
  txn: PlatformTxn,
): Decision {
  const actor = requireActor(tables, command.actor, "lock.write");
  if (isPlatformError(actor)) return actor;
  if (!LOCK_NAME.test(command.name)) {
    return invalidArgument(
      `lock.name must be ${LOCK_NAME_ALLOWED}, got ${JSON.stringify(command.name)}`,
    );
  }
  const leaseError = checkLease(tables, command.leaseId, command.ttlSeconds);
  if (leaseError !== null) return leaseError;
  const unchanged = unchangedAnswer(tables, command);
  if (unchanged !== null) return unchanged;
  const lock = tables.locks.get(command.name);
  if (lock !== undefined && lock.waiters.length >= LOCK_WAITERS_MAX) {
    return failedPrecondition(
      `lock ${JSON.stringify(command.name)} already has ${LOCK_WAITERS_MAX} waiters (the maximum)`,
    );
  }
  const leaseId = bindLease(tables, txn, command);
  const entrant = { leaseId, owner: command.actor };
  const entered = tables.locks.enter(command.name, entrant, txn.revision, command.at);
  const next = entered.lock as PlatformLock;
  txn.change(entered.write, lockEvent(txn, command.name, next));
  const held = next.holder.leaseId === leaseId;
  const ok = {
    revision: txn.revision,
    name: command.name,
    state: held ? "held" : "queued",
    leaseId,
    token: held ? next.holder.token : 0,
    position: held ? 0 : next.waiters.length,
    holder: next.holder,
  } as const;
  const after = held
    ? holderSummary(next.holder)
    : { queued_lease: String(leaseId), position: String(ok.position) };
  const outcome = held ? "acquired" : "queued";
  return done({ kind: "lock-acquire", ok }, holderSummary(lock?.holder), after, outcome);
}

export function applyLockRelease(
  tables: PlatformTables,
  command: LockReleaseCommand,
  txn: PlatformTxn,
): Decision {
  const actor = requireActor(tables, command.actor, "lock.write");
  if (isPlatformError(actor)) return actor;
  if (!LOCK_NAME.test(command.name)) {
    return invalidArgument(
      `lock.name must be ${LOCK_NAME_ALLOWED}, got ${JSON.stringify(command.name)}`,
    );
  }
  if (!(Number.isSafeInteger(command.leaseId) && command.leaseId >= 1)) {
    return invalidArgument(
      `lease_id must be the lease holding or waiting for the lock, got ${command.leaseId}`,
    );
  }
  if (!(Number.isSafeInteger(command.token) && command.token >= 0)) {
    return invalidArgument(`token must be 0 (any) or a fencing token, got ${command.token}`);
  }
  const lock = tables.locks.get(command.name);
  if (lock === undefined) return notFound(`lock ${JSON.stringify(command.name)} is not held`);
  const standing = tables.locks.standing(command.name, command.leaseId);
  if (standing.kind === "absent") {
    return failedPrecondition(
      `lease ${command.leaseId} neither holds nor waits for lock ${JSON.stringify(command.name)}`,
    );
  }
  if (standing.kind === "holder" && command.token !== 0 && command.token !== standing.token) {
    return aborted(
      `token ${command.token} for lock ${JSON.stringify(command.name)} is stale: the holder's token is ${standing.token}`,
    );
  }
  const left = tables.locks.leave(command.name, command.leaseId, txn.revision, command.at);
  txn.change(left.write, lockEvent(txn, command.name, left.lock));
  const handedTo = standing.kind === "holder" ? (left.lock?.holder ?? null) : null;
  const ok = {
    revision: txn.revision,
    name: command.name,
    released: standing.kind,
    holder: left.lock?.holder ?? null,
  } as const;
  const outcome = standing.kind === "holder" ? "released" : "withdrawn";
  return done(
    { kind: "lock-release", ok },
    holderSummary(lock.holder),
    holderSummary(handedTo ?? left.lock?.holder),
    outcome,
  );
}

/**
 * A revoked lease gives up its locks (handing each to the next waiter) and
 * its places in queues, then its group memberships; one op-log record each.
 */
export function releaseLease(
  tables: PlatformTables,
  leaseId: number,
  atMs: number,
  txn: PlatformTxn,
): OpLogDraft[] {
  const drafts: OpLogDraft[] = [];
  for (const name of tables.locks.namesOfLease(leaseId)) {
    const before = tables.locks.get(name)?.holder;
    const left = tables.locks.leave(name, leaseId, txn.revision, atMs);
    txn.change(left.write, lockEvent(txn, name, left.lock));
    drafts.push({
      actor: SYSTEM_ACTOR,
      action: "lock.release",
      target: `lock/${name}`,
      outcome: "lease-revoked",
      before: { ...holderSummary(before), lease: String(leaseId) },
      after: holderSummary(left.lock?.holder),
    });
  }
  for (const [group, memberId] of tables.membership.membersOfLease(leaseId)) {
    const removed = tables.membership.remove(group, memberId, txn.revision);
    txn.change(removed.write, {
      table: "membership",
      revision: txn.revision,
      change: removed.change,
      member: null,
    });
    drafts.push({
      actor: SYSTEM_ACTOR,
      action: "member.leave",
      target: `member/${group}/${memberId}`,
      outcome: "lease-revoked",
      before: { lease: String(leaseId) },
      after: { moved_fraction: String(removed.change.movedFraction) },
    });
  }
  return drafts;
}
