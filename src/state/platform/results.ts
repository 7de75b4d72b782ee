// What apply returns for each platform command (one result kind per command
// kind, each with the store revision after it) and the platform events every
// apply emits for the watch stream: one per changed row of a user, resource,
// lock or membership group, and one per op-log record appended.
import type { PlatformError } from "./errors.js";
import type { GroupMember, MembershipChange } from "./membership.js";
import type { OpLogRecord, OpLogRetention } from "./oplog.js";
import type { LockHolder, PlatformLock } from "./platform-locks.js";
import type { Resource } from "./resource-types.js";
import type { UserView } from "./users.js";

export interface UserResult {
  readonly revision: number;
  readonly user: UserView;
  /** Sessions ended by the command (a password change ends every session of the user). */
  readonly sessionsRevoked: number;
}

export interface UserDeleteResult {
  readonly revision: number;
  readonly username: string;
  readonly sessionsRevoked: number;
}

export interface LoginResult {
  readonly revision: number;
  readonly username: string;
  readonly expiresAtMs: number;
}

export interface LogoutResult {
  readonly revision: number;
  readonly username: string;
}

export interface ResourceResult {
  readonly revision: number;
  readonly resource: Resource;
}

/** held: the lease holds it with `token`; queued: waiting at `position` (1 = next); busy: TryAcquire found it held. */
export interface LockAcquireResult {
  readonly revision: number;
  readonly name: string;
  readonly state: "held" | "queued" | "busy";
  /** The lease the lock is bound to (a new one when the command asked for a TTL). */
  readonly leaseId: number;
  /** Fencing token while held, 0 otherwise. */
  readonly token: number;
  readonly position: number;
  /** The holder at the time of the answer. */
  readonly holder: LockHolder | null;
}

export interface LockReleaseResult {
  readonly revision: number;
  readonly name: string;
  /** "holder" released the lock; "waiter" withdrew from the queue. */
  readonly released: "holder" | "waiter";
  /** The new holder, if the lock passed on. */
  readonly holder: LockHolder | null;
}

export interface MemberJoinResult {
  readonly revision: number;
  readonly member: GroupMember;
  readonly change: MembershipChange;
}

export interface MemberLeaveResult {
  readonly revision: number;
  readonly change: MembershipChange;
}

export interface OpLogRetentionResult {
  readonly revision: number;
  readonly retention: OpLogRetention;
  /** Records dropped by this command (the rest follow on later applies). */
  readonly pruned: number;
}

export type PlatformResult =
  | { readonly kind: "user-register"; readonly ok: UserResult }
  | { readonly kind: "user-update"; readonly ok: UserResult }
  | { readonly kind: "user-delete"; readonly ok: UserDeleteResult }
  | { readonly kind: "user-login"; readonly ok: LoginResult }
  | { readonly kind: "user-logout"; readonly ok: LogoutResult }
  | { readonly kind: "resource-create"; readonly ok: ResourceResult }
  | { readonly kind: "resource-update"; readonly ok: ResourceResult }
  | { readonly kind: "resource-lifecycle"; readonly ok: ResourceResult }
  | { readonly kind: "resource-install"; readonly ok: ResourceResult }
  | { readonly kind: "lock-acquire"; readonly ok: LockAcquireResult }
  | { readonly kind: "lock-release"; readonly ok: LockReleaseResult }
  | { readonly kind: "member-join"; readonly ok: MemberJoinResult }
  | { readonly kind: "member-leave"; readonly ok: MemberLeaveResult }
  | { readonly kind: "oplog-retention"; readonly ok: OpLogRetentionResult }
  | PlatformError;

/** Rows of the platform tables as the watch stream sees them; null = removed. */
export type PlatformEvent =
  | {
      readonly table: "user";
      readonly revision: number;
      readonly username: string;
      readonly user: UserView | null;
    }
  | {
      readonly table: "resource";
      readonly revision: number;
      readonly resource: Resource;
      readonly prev: Resource | null;
    }
  | {
      readonly table: "lock";
      readonly revision: number;
      readonly name: string;
      readonly lock: PlatformLock | null;
    }
  | {
      readonly table: "membership";
      readonly revision: number;
      readonly change: MembershipChange;
      readonly member: GroupMember | null;
    }
  | { readonly table: "oplog"; readonly record: OpLogRecord };
