// Apply steps for users and sessions: register (the first user becomes admin;
// other roles than viewer need an admin), update (self for contact details
// and password, admin for roles and for others; expected version), delete
// (admin; never the last admin), login and logout. Every step validates and
// checks first and only then writes, so a refused command changes nothing.
import type { TableWrite } from "../table-write.js";
import { authorizeRoles, type Role } from "./authorize.js";
import type {
  UserDeleteCommand,
  UserLoginCommand,
  UserLogoutCommand,
  UserRegisterCommand,
  UserUpdateCommand,
} from "./commands.js";
import { type Decision, done, type PlatformTables, requireActor } from "./context.js";
import {
  aborted,
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  isPlatformError,
  notFound,
  permissionDenied,
} from "./errors.js";
import { NO_SUMMARY } from "./oplog.js";
import type { PlatformTxn } from "./platform-txn.js";
import {
  SESSION_PURGE_BATCH,
  SESSIONS_PER_USER_MAX,
  validateSessionTtl,
  validateTokenHash,
} from "./sessions.js";
import {
  normalizeRoles,
  type UserRecord,
  userView,
  validateContact,
  validatePasswordHash,
  validateRoles,
  validateUsername,
} from "./users.js";

function storeUser(tables: PlatformTables, txn: PlatformTxn, user: UserRecord): void {
  const event = {
    table: "user",
    revision: txn.revision,
    username: user.username,
    user: userView(user),
  } as const;
  txn.change(tables.users.put(user), event);
}

/** Ends sessions (all of a user's, or the given ones); returns how many. */
function endSessions(
  tables: PlatformTables,
  txn: PlatformTxn,
  tokenHashes: readonly string[],
): number {
  const writes: TableWrite[] = tokenHashes.map((hash) => tables.sessions.delete(hash));
  if (writes.length > 0) txn.change(writes);
  return writes.length;
}

function userSessionHashes(tables: PlatformTables, username: string): string[] {
  return tables.sessions.ofUser(username).map((session) => session.tokenHash);
}

/** Roles a registration gets: admin for the first user, viewer by default, others only from an admin. */
function registrationRoles(
  tables: PlatformTables,
  command: UserRegisterCommand,
): Role[] | Decision {
  if (tables.users.size === 0) return ["admin"];
  const roles = normalizeRoles(command.roles);
  if (roles.length === 0 || (roles.length === 1 && roles[0] === "viewer")) return ["viewer"];
  const admin = requireActor(tables, command.actor, "user.manage");
  return isPlatformError(admin) ? admin : roles;
}

export function applyRegister(
  tables: PlatformTables,
  command: UserRegisterCommand,
  txn: PlatformTxn,
): Decision {
  const invalid =
    validateUsername(command.username) ??
    validateContact(command) ??
    validateRoles(command.roles, true) ??
    validatePasswordHash(command.password);
  if (invalid !== null) return invalidArgument(invalid);
  if (tables.users.get(command.username) !== undefined) {
    return alreadyExists(`user ${command.username} already exists`);
  }
  const roles = registrationRoles(tables, command);
  if (!Array.isArray(roles)) return roles;
  const user: UserRecord = {
    username: command.username,
    email: command.email,
    phone: command.phone,
    roles,
    passwordSalt: command.password.salt,
    passwordHash: command.password.hash,
    createdAtMs: command.at,
    updatedAtMs: command.at,
    version: 1,
    createRevision: txn.revision,
    modRevision: txn.revision,
  };
  storeUser(tables, txn, user);
  const ok = { revision: txn.revision, user: userView(user), sessionsRevoked: 0 };
  return done({ kind: "user-register", ok }, NO_SUMMARY, { roles: roles.join(",") });
}

function validateUpdate(command: UserUpdateCommand): string | null {
  const { email, phone, roles, password } = command;
  if (email === null && phone === null && roles === null && password === null) {
    return "user update must set at least one of email, phone, roles, password";
  }
  if (!(Number.isSafeInteger(command.expectedVersion) && command.expectedVersion >= 0)) {
    return `user.expected_version must be 0 (any) or a version, got ${command.expectedVersion}`;
  }
  return (
    validateUsername(command.username) ??
    (email === null ? null : validateContact({ email, phone: "" })) ??
    (phone === null ? null : validateContact({ email: "x@y.zz", phone })) ??
    (roles === null ? null : validateRoles(roles, false)) ??
    (password === null ? null : validatePasswordHash(password))
  );
}

/** Self-service covers contact details and password; roles and other users need user.manage. */
function checkUpdateAllowed(
  tables: PlatformTables,
  command: UserUpdateCommand,
  target: UserRecord,
): Decision | null {
  const self = command.actor === target.username;
  if (!self || command.roles !== null) {
    const admin = requireActor(tables, command.actor, "user.manage");
    if (isPlatformError(admin)) return admin;
  }
  if (command.expectedVersion !== 0 && command.expectedVersion !== target.version) {
    return aborted(
      `user ${target.username} is at version ${target.version}, request expected version ${command.expectedVersion}`,
    );
  }
  const losesAdmin =
    command.roles !== null && target.roles.includes("admin") && !command.roles.includes("admin");
  if (losesAdmin && tables.users.admins === 1) {
    return failedPrecondition(
      `cannot take the admin role from ${target.username}: it is the last admin`,
    );
  }
  return null;
}

export function applyUserUpdate(
  tables: PlatformTables,
  command: UserUpdateCommand,
  txn: PlatformTxn,
): Decision {
  const invalid = validateUpdate(command);
  if (invalid !== null) return invalidArgument(invalid);
  const target = tables.users.get(command.username);
  if (target === undefined) return notFound(`user ${command.username} not found`);
  const refused = checkUpdateAllowed(tables, command, target);
  if (refused !== null) return refused;
  const user: UserRecord = {
    ...target,
    email: command.email ?? target.email,
    phone: command.phone ?? target.phone,
    roles: command.roles === null ? target.roles : normalizeRoles(command.roles),
    passwordSalt: command.password?.salt ?? target.passwordSalt,
    passwordHash: command.password?.hash ?? target.passwordHash,
    updatedAtMs: command.at,
    version: target.version + 1,
    modRevision: txn.revision,
  };
  storeUser(tables, txn, user);
  // A new password ends every session, so a leaked token dies with the old password.
  const sessionsRevoked =
    command.password === null
      ? 0
      : endSessions(tables, txn, userSessionHashes(tables, user.username));
  const ok = { revision: txn.revision, user: userView(user), sessionsRevoked };
  const changed = ["email", "phone", "roles", "password"].filter(
    (f) => command[f as "email"] !== null,
  );
  return done(
    { kind: "user-update", ok },
    { roles: target.roles.join(","), version: String(target.version) },
    { roles: user.roles.join(","), version: String(user.version), changed: changed.join(",") },
  );
}

export function applyUserDelete(
  tables: PlatformTables,
  command: UserDeleteCommand,
  txn: PlatformTxn,
): Decision {
  const invalid = validateUsername(command.username);
  if (invalid !== null) return invalidArgument(invalid);
  const admin = requireActor(tables, command.actor, "user.manage");
  if (isPlatformError(admin)) return admin;
  const target = tables.users.get(command.username);
  if (target === undefined) return notFound(`user ${command.username} not found`);
  if (target.roles.includes("admin") && tables.users.admins === 1) {
    return failedPrecondition(`cannot delete ${target.username}: it is the last admin`);
  }
  const sessionsRevoked = endSessions(tables, txn, userSessionHashes(tables, target.username));
  txn.change(tables.users.delete(target.username), {
    table: "user",
    revision: txn.revision,
    username: target.username,
    user: null,
  });
  const ok = { revision: txn.revision, username: target.username, sessionsRevoked };
  return done({ kind: "user-delete", ok }, { roles: target.roles.join(",") }, NO_SUMMARY);
}

export function applyLogin(
  tables: PlatformTables,
  command: UserLoginCommand,
  txn: PlatformTxn,
): Decision {
  const invalid =
    validateUsername(command.username) ??
    validateTokenHash(command.tokenHash) ??
    validateSessionTtl(command.ttlMs);
  if (invalid !== null) return invalidArgument(invalid);
  const user = tables.users.get(command.username);
  if (user === undefined) return notFound(`user ${command.username} not found`);
  if (user.version !== command.userVersion) {
    return aborted(
      `user ${user.username} changed (version ${user.version}) after the password was checked at version ${command.userVersion}; sign in again`,
    );
  }
  if (tables.sessions.get(command.tokenHash) !== undefined)
    return alreadyExists("session token already in use");
  // Bounded housekeeping: purge some expired sessions, then make room for this one.
  endSessions(
    tables,
    txn,
    tables.sessions.expired(command.at, SESSION_PURGE_BATCH).map((s) => s.tokenHash),
  );
  const own = userSessionHashes(tables, user.username);
  endSessions(tables, txn, own.slice(0, Math.max(0, own.length - SESSIONS_PER_USER_MAX + 1)));
  const expiresAtMs = command.at + command.ttlMs;
  const session = {
    tokenHash: command.tokenHash,
    username: user.username,
    createdAtMs: command.at,
    expiresAtMs,
  };
  txn.change(tables.sessions.put(session));
  const ok = { revision: txn.revision, username: user.username, expiresAtMs };
  return {
    ...done({ kind: "user-login", ok }, NO_SUMMARY, { expires_at_ms: String(expiresAtMs) }),
    actor: user.username,
  };
}

export function applyLogout(
  tables: PlatformTables,
  command: UserLogoutCommand,
  txn: PlatformTxn,
): Decision {
  const invalid = validateTokenHash(command.tokenHash);
  if (invalid !== null) return invalidArgument(invalid);
  const session = tables.sessions.get(command.tokenHash);
  if (session === undefined) return notFound("session not found (already signed out or expired)");
  const actor = tables.users.get(command.actor);
  const mayEnd =
    command.actor === session.username ||
    (actor !== undefined && authorizeRoles(actor.roles, "user.manage"));
  if (!mayEnd)
    return permissionDenied(
      `user ${JSON.stringify(command.actor)} may not end sessions of ${session.username}`,
    );
  endSessions(tables, txn, [session.tokenHash]);
  const ok = { revision: txn.revision, username: session.username };
  return {
    ...done({ kind: "user-logout", ok }, NO_SUMMARY, NO_SUMMARY),
    target: `user/${session.username}`,
  };
}
