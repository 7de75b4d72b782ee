// Platform users: username, contact details, roles and the password's scrypt
// salt and hash (the password itself never reaches the log). The table keeps
// users in username order and counts admins so the last one cannot go.
import { assert } from "../../util/assert.js";
import type { RowVisitor, TableWrite } from "../table-write.js";
import { isRole, ROLES, type Role } from "./authorize.js";
import { asBytes, asNumber, asString, decodeRow, encodeRow, readText, textKey } from "./codec.js";
import type { PasswordHash } from "./commands.js";
import { checkRules, matches, type Rule } from "./rules.js";

/** user: username (UTF-8) → msgpack UserRecord. */
export const USER_TABLE = "user";

export const USERNAME_PATTERN = /^[a-z0-9._-]{3,32}$/;
export const USERNAME_ALLOWED = "3..32 characters of [a-z0-9._-]";
export const PASSWORD_LENGTH = { min: 10, max: 1024 } as const;

/**
 * What the handler runs before proposing: scrypt(password, salt, keyLength,
 * { N: cost, r: blockSize, p: parallelization }) with a fresh random salt of
 * saltBytes. Login recomputes it with the stored salt and compares in constant time.
 */
export const SCRYPT_PARAMS = {
  cost: 16_384,
  blockSize: 8,
  parallelization: 1,
  keyLength: 64,
  saltBytes: 16,
} as const;

const EMAIL = /^(?=.{3,254}$)[^\s@]+@[^\s@]+\.[^\s@]+$/;
const E164 = /^\+[1-9][0-9]{1,14}$/;

export interface UserRecord {
  readonly username: string;
  readonly email: string;
  readonly phone: string;
  /** Sorted, no duplicates, never empty. */
  readonly roles: readonly Role[];
  readonly passwordSalt: Uint8Array;
  readonly passwordHash: Uint8Array;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  readonly version: number;
  readonly createRevision: number;
  readonly modRevision: number;
}

/** A user as reads, results and events show it: everything but the password material. */
export type UserView = Omit<UserRecord, "passwordSalt" | "passwordHash">;

export function userView(user: UserRecord): UserView {
  const { passwordSalt: _salt, passwordHash: _hash, ...view } = user;
  return view;
}

export function normalizeRoles(roles: readonly Role[]): Role[] {
  return ROLES.filter((role) => roles.includes(role));
}

const CONTACT_RULES: readonly Rule<{ email: string; phone: string }>[] = [
  {
    path: "email",
    allowed: "an address like name@example.com (at most 254 characters)",
    value: (u) => u.email,
    ok: matches(EMAIL),
  },
  {
    path: "phone",
    allowed: 'empty or E.164 like "+14155550100"',
    value: (u) => u.phone,
    ok: (v) => v === "" || matches(E164)(v),
  },
];

export function validateUsername(username: string, path = "user.username"): string | null {
  return checkRules(username, "", [
    { path, allowed: USERNAME_ALLOWED, value: (u) => u, ok: matches(USERNAME_PATTERN) },
  ]);
}

/** The handler's check before hashing (apply never sees the password). */
export function validatePassword(password: string): string | null {
  const length = typeof password === "string" ? [...password].length : -1;
  if (length >= PASSWORD_LENGTH.min && length <= PASSWORD_LENGTH.max) return null;
  return `user.password must be ${PASSWORD_LENGTH.min}..${PASSWORD_LENGTH.max} characters, got ${length < 0 ? "nothing" : `${length} characters`}`;
}

export function validateContact(contact: { email: string; phone: string }): string | null {
  return checkRules(contact, "user.", CONTACT_RULES);
}

export function validateRoles(roles: readonly string[], allowEmpty: boolean): string | null {
  const bad = roles.find((role) => !isRole(role));
  if (bad !== undefined)
    return `user.roles must be of admin|operator|viewer, got ${JSON.stringify(bad)}`;
  if (!allowEmpty && roles.length === 0) return "user.roles must name at least one role, got none";
  return null;
}

export function validatePasswordHash(password: PasswordHash): string | null {
  const salt = password.salt instanceof Uint8Array ? password.salt.byteLength : -1;
  const hash = password.hash instanceof Uint8Array ? password.hash.byteLength : -1;
  if (salt < 16 || salt > 64) return `user.password salt must be 16..64 bytes, got ${salt}`;
  if (hash < 32 || hash > 128) return `user.password hash must be 32..128 bytes, got ${hash}`;
  return null;
}

export class UserTable {
  private readonly users = new Map<string, UserRecord>();
  private adminCount = 0;

  get size(): number {
    return this.users.size;
  }

  get admins(): number {
    return this.adminCount;
  }

  get(username: string): UserRecord | undefined {
    return this.users.get(username);
  }

  /** Up to `limit` users after `afterUsername` (exclusive), in username order. */
  list(afterUsername: string, limit: number): UserRecord[] {
    assert(Number.isSafeInteger(limit) && limit >= 1, "user list needs a positive limit");
    return [...this.users.keys()]
      .filter((name) => name > afterUsername)
      .sort()
      .slice(0, limit)
      .map((name) => this.users.get(name) as UserRecord);
  }

  put(user: UserRecord): TableWrite {
    assert(user.roles.length > 0, `user ${user.username} must keep a role`);
    const value = encodeRow(user);
    this.forget(user.username);
    this.users.set(user.username, user);
    if (user.roles.includes("admin")) this.adminCount++;
    return { table: USER_TABLE, key: textKey(user.username), value };
  }

  delete(username: string): TableWrite {
    assert(this.users.has(username), `delete of unknown user ${username}`);
    this.forget(username);
    return { table: USER_TABLE, key: textKey(username), value: null };
  }

  /** Every row exactly as persisted (see state-digest.ts). */
  visitRows(visit: RowVisitor): void {
    for (const user of this.users.values())
      visit(USER_TABLE, textKey(user.username), encodeRow(user));
  }

  loadRow(key: Uint8Array, value: Uint8Array): void {
    const username = readText(key);
    const row = decodeRow(value, `user ${username}`);
    assert(
      asString(row.username, "user.username") === username,
      `user row ${username} key mismatch`,
    );
    const roles = row.roles;
    assert(Array.isArray(roles) && roles.every((r) => isRole(String(r))), `user ${username} roles`);
    asBytes(row.passwordSalt, "user.passwordSalt");
    asBytes(row.passwordHash, "user.passwordHash");
    asNumber(row.version, "user.version");
    this.put(row as unknown as UserRecord);
  }

  private forget(username: string): void {
    const previous = this.users.get(username);
    if (previous === undefined) return;
    if (previous.roles.includes("admin")) this.adminCount--;
    this.users.delete(username);
    assert(this.adminCount >= 0, "admin count went negative");
  }
}
