// Apply steps for membership groups: join (or update a member in place) bound
// to a lease, and leave. Each change carries its summary (revision, member
// counts, fraction of sampled keys whose owner moved) in the result, the
// watch event and the op-log record.
import { bindLease, checkLease } from "./apply-locks.js";
import type { MemberJoinCommand, MemberLeaveCommand } from "./commands.js";
import { type Decision, done, type PlatformTables, requireActor } from "./context.js";
import { failedPrecondition, invalidArgument, isPlatformError, notFound } from "./errors.js";
import {
  type GroupMember,
  MEMBERS_PER_GROUP_MAX,
  validateJoin,
  validateMemberRef,
} from "./membership.js";
import type { PlatformTxn } from "./platform-txn.js";
import { sortedLabels } from "./resource-types.js";

export function applyMemberJoin(
  tables: PlatformTables,
  command: MemberJoinCommand,
  txn: PlatformTxn,
): Decision {
  const actor = requireActor(tables, command.actor, "membership.write");
  if (isPlatformError(actor)) return actor;
  const invalid = validateJoin(command);
  if (invalid !== null) return invalidArgument(invalid);
  const leaseError = checkLease(tables, command.leaseId, command.ttlSeconds);
  if (leaseError !== null) return leaseError;
  const existing = tables.membership.get(command.group, command.memberId);
  if (
    existing === undefined &&
    tables.membership.members(command.group).length >= MEMBERS_PER_GROUP_MAX
  ) {
    return failedPrecondition(
      `group ${command.group} already has ${MEMBERS_PER_GROUP_MAX} members (the maximum)`,
    );
  }
  const leaseId = bindLease(tables, txn, command);
  const member: GroupMember = {
    group: command.group,
    memberId: command.memberId,
    address: command.address,
    weight: command.weight,
    metadata: sortedLabels(command.metadata),
    leaseId,
    joinedAtMs: existing?.joinedAtMs ?? command.at,
    joinRevision: existing?.joinRevision ?? txn.revision,
    modRevision: txn.revision,
  };
  const { write, change } = tables.membership.put(member);
  txn.change(write, { table: "membership", revision: txn.revision, change, member });
  const before =
    existing === undefined
      ? {}
      : {
          address: existing.address,
          weight: String(existing.weight),
          lease: String(existing.leaseId),
        };
  const after = {
    address: member.address,
    weight: String(member.weight),
    lease: String(leaseId),
    moved_fraction: String(change.movedFraction),
  };
  return done(
    { kind: "member-join", ok: { revision: txn.revision, member, change } },
    before,
    after,
    change.type,
  );
}

export function applyMemberLeave(
  tables: PlatformTables,
  command: MemberLeaveCommand,
  txn: PlatformTxn,
): Decision {
  const actor = requireActor(tables, command.actor, "membership.write");
  if (isPlatformError(actor)) return actor;
  const invalid = validateMemberRef(command.group, command.memberId);
  if (invalid !== null) return invalidArgument(invalid);
  const existing = tables.membership.get(command.group, command.memberId);
  if (existing === undefined)
    return notFound(`member ${command.memberId} is not in group ${command.group}`);
  const { write, change } = tables.membership.remove(command.group, command.memberId, txn.revision);
  txn.change(write, { table: "membership", revision: txn.revision, change, member: null });
  return done(
    { kind: "member-leave", ok: { revision: txn.revision, change } },
    { address: existing.address, weight: String(existing.weight) },
    { moved_fraction: String(change.movedFraction) },
  );
}
