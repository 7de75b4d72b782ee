// What every platform apply step shares: the tables it reads and writes, the
// shape of its decision (a result plus the op-log record, or a typed error),
// the actor check against the replicated roles, and the audit naming
// (action, target) of each command kind, also used for refused commands.
import { assertNever } from "../../util/assert.js";
import type { LeaseTable } from "../lease-table.js";
import type { MvccStore } from "../mvcc/mvcc-store.js";
import { type Action, authorizeRoles } from "./authorize.js";
import type { PlatformCommand } from "./commands.js";
import { isPlatformError, type PlatformError, permissionDenied } from "./errors.js";
import type { MembershipTable } from "./membership.js";
import { NO_SUMMARY, type OpLog, type OpLogDraft, type Summary } from "./oplog.js";
import type { LockTable } from "./platform-locks.js";
import type { ResourceTable } from "./resources.js";
import type { PlatformResult } from "./results.js";
import type { SessionTable } from "./sessions.js";
import type { UserRecord, UserTable } from "./users.js";

/** The actor of changes no user asked for (a revoked lease releasing its locks and members). */
export const SYSTEM_ACTOR = "system";

export interface PlatformTables {
  readonly users: UserTable;
  readonly sessions: SessionTable;
  readonly resources: ResourceTable;
  readonly oplog: OpLog;
  readonly locks: LockTable;
  readonly membership: MembershipTable;
  readonly kv: MvccStore;
  readonly leases: LeaseTable;
}

export type PlatformSuccess = Exclude<PlatformResult, PlatformError>;

export interface Done {
  readonly result: PlatformSuccess;
  readonly outcome: string;
  readonly before: Summary;
  readonly after: Summary;
  /** Overrides the command's audit target (a create learns its id only at apply). */
  readonly target?: string;
  /** Overrides the command's actor (a login acts as the user signing in). */
  readonly actor?: string;
}

export type Decision = Done | PlatformError;

export function done(
  result: PlatformSuccess,
  before: Summary,
  after: Summary,
  outcome = "ok",
): Done {
  return { result, outcome, before, after };
}

/** The acting user if they exist and their roles allow `action`. */
export function requireActor(
  tables: PlatformTables,
  actor: string,
  action: Action,
): UserRecord | PlatformError {
  if (actor === "") return permissionDenied(`${action} needs a signed-in user`);
  const user = tables.users.get(actor);
  if (user === undefined) return permissionDenied(`unknown user ${JSON.stringify(actor)}`);
  if (!authorizeRoles(user.roles, action)) {
    return permissionDenied(`user ${actor} (${user.roles.join(", ")}) may not ${action}`);
  }
  return user;
}

export function auditOf(command: PlatformCommand): { action: string; target: string } {
  switch (command.kind) {
    case "user-register":
    case "user-update":
    case "user-delete":
    case "user-login":
      return { action: command.kind.replace("-", "."), target: `user/${command.username}` };
    case "user-logout":
      return { action: "user.logout", target: `user/${command.actor}` };
    case "resource-create":
      return { action: "resource.create", target: "resource/" };
    case "resource-update":
      return { action: "resource.update", target: `resource/${command.resourceId}` };
    case "resource-lifecycle":
      return { action: `resource.${command.action}`, target: `resource/${command.resourceId}` };
    case "resource-install":
      return { action: "resource.install", target: `resource/${command.resourceId}` };
    case "lock-acquire":
      return {
        action: command.wait ? "lock.acquire" : "lock.try-acquire",
        target: `lock/${command.name}`,
      };
    case "lock-release":
      return { action: "lock.release", target: `lock/${command.name}` };
    case "member-join":
    case "member-leave":
      return {
        action: command.kind.replace("-", "."),
        target: `member/${command.group}/${command.memberId}`,
      };
    case "oplog-retention":
      return { action: "oplog.retention", target: "oplog/retention" };
    default:
      return assertNever(command, "platform command");
  }
}

/** The op-log record of a decided command; a refused one records its error code and message. */
export function draftOf(command: PlatformCommand, decision: Decision): OpLogDraft {
  const audit = auditOf(command);
  if (isPlatformError(decision)) {
    return {
      actor: command.actor,
      action: audit.action,
      target: audit.target,
      outcome: decision.code,
      before: NO_SUMMARY,
      after: { error: decision.message },
    };
  }
  return {
    actor: decision.actor ?? command.actor,
    action: audit.action,
    target: decision.target ?? audit.target,
    outcome: decision.outcome,
    before: decision.before,
    after: decision.after,
  };
}
