// Translation between the cairn.v1 wire messages and the state machine's
// records for users, roles, locks, members and op-log records (resources have
// their own, resource-codec.ts). Proto zero values are mapped here, once.
import { cairn } from "../../gen/cairn.js";
import {
  type GroupMember,
  type LockHolder,
  type LockWaiter,
  type MembershipChange,
  type OpLogRecord,
  ROLES,
  type Role,
  type UserView,
} from "../../state/index.js";
import { assertNever } from "../../util/assert.js";
import { invalid } from "./platform-errors.js";

const ROLE_TO_PROTO: Readonly<Record<Role, cairn.v1.Role>> = {
  admin: cairn.v1.Role.ROLE_ADMIN,
  operator: cairn.v1.Role.ROLE_OPERATOR,
  viewer: cairn.v1.Role.ROLE_VIEWER,
};

const PROTO_TO_ROLE: ReadonlyMap<number, Role> = new Map(
  ROLES.map((role) => [ROLE_TO_PROTO[role] as number, role]),
);
const ROLE_NAMES = ROLES.map((role) => `ROLE_${role.toUpperCase()}`).join("|");

/** Proto roles to state roles; UNSPECIFIED or unknown numbers are refused by position. */
export function rolesFromProto(roles: readonly number[] | null | undefined, path: string): Role[] {
  return (roles ?? []).map((value, index) => {
    const role = PROTO_TO_ROLE.get(value);
    if (role === undefined) {
      throw invalid(`${path}[${index}] must be one of ${ROLE_NAMES}, got ${value}`);
    }
    return role;
  });
}

export function userToProto(user: UserView): cairn.v1.User.$Properties {
  return {
    username: user.username,
    email: user.email,
    phone: user.phone,
    roles: user.roles.map((role) => ROLE_TO_PROTO[role]),
    createdAtMs: user.createdAtMs,
    updatedAtMs: user.updatedAtMs,
    version: user.version,
    createRevision: user.createRevision,
    modRevision: user.modRevision,
  };
}

export function holderToProto(holder: LockHolder): cairn.v1.LockHolder.$Properties {
  return {
    leaseId: holder.leaseId,
    owner: holder.owner,
    token: holder.token,
    acquiredAtMs: holder.acquiredAtMs,
  };
}

export function waiterToProto(waiter: LockWaiter): cairn.v1.LockWaiter.$Properties {
  return { leaseId: waiter.leaseId, owner: waiter.owner, enqueuedAtMs: waiter.enqueuedAtMs };
}

export function memberToProto(member: GroupMember): cairn.v1.Member.$Properties {
  return {
    group: member.group,
    memberId: member.memberId,
    address: member.address,
    weight: member.weight,
    metadata: { ...member.metadata },
    leaseId: member.leaseId,
    joinedAtMs: member.joinedAtMs,
    joinRevision: member.joinRevision,
    modRevision: member.modRevision,
  };
}

function changeType(type: MembershipChange["type"]): cairn.v1.MembershipChange.Type {
  switch (type) {
    case "join":
      return cairn.v1.MembershipChange.Type.TYPE_JOIN;
    case "update":
      return cairn.v1.MembershipChange.Type.TYPE_UPDATE;
    case "leave":
      return cairn.v1.MembershipChange.Type.TYPE_LEAVE;
    default:
      return assertNever(type, "membership change type");
  }
}

export function changeToProto(change: MembershipChange): cairn.v1.MembershipChange.$Properties {
  return {
    group: change.group,
    revision: change.revision,
    type: changeType(change.type),
    memberId: change.memberId,
    membersBefore: change.membersBefore,
    membersAfter: change.membersAfter,
    movedFraction: change.movedFraction,
  };
}

export function recordToProto(record: OpLogRecord): cairn.v1.OpLogRecord.$Properties {
  return {
    sequence: record.sequence,
    revision: record.revision,
    atMs: record.atMs,
    actor: record.actor,
    action: record.action,
    target: record.target,
    outcome: record.outcome,
    before: { ...record.before },
    after: { ...record.after },
  };
}

/** Proto page_size: 0 = 100; the state machine checks the upper bound with its own message. */
export function pageSize(requested: number): number {
  return requested === 0 ? 100 : requested;
}
