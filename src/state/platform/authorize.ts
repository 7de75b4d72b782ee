// Who may do what on the platform API: a closed set of roles and actions and
// one table between them. Apply checks the actor's roles as they are at the
// command's index, so a role removed a moment ago already denies.
//
//   viewer   reads resources, the op log, locks and membership
//   operator + changes resources, takes locks, joins membership groups
//   admin    + reads and manages users, sets op-log retention
// Every authenticated user may read and update their own profile (not roles).

export const ROLES = ["admin", "operator", "viewer"] as const;
export type Role = (typeof ROLES)[number];

export const ACTIONS = [
  "resource.read",
  "resource.write",
  "oplog.read",
  "oplog.manage",
  "lock.read",
  "lock.write",
  "membership.read",
  "membership.write",
  "user.read",
  "user.manage",
] as const;
export type Action = (typeof ACTIONS)[number];

const READS: readonly Action[] = ["resource.read", "oplog.read", "lock.read", "membership.read"];
const CHANGES: readonly Action[] = ["resource.write", "lock.write", "membership.write"];
const ADMIN_ONLY: readonly Action[] = ["user.read", "user.manage", "oplog.manage"];

const GRANTS: Readonly<Record<Role, ReadonlySet<Action>>> = {
  viewer: new Set(READS),
  operator: new Set([...READS, ...CHANGES]),
  admin: new Set([...READS, ...CHANGES, ...ADMIN_ONLY]),
};

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function authorize(role: Role, action: Action): boolean {
  return GRANTS[role].has(action);
}

/** A user holds every grant of each of their roles. */
export function authorizeRoles(roles: readonly Role[], action: Action): boolean {
  return roles.some((role) => authorize(role, action));
}
