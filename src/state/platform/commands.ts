// The platform's replicated commands (users, sessions, resources, locks,
// membership, op-log retention). Like every command they carry v, id and at;
// they add `actor`, the username the handler authenticated, which apply
// authorizes against the replicated roles and records in the op log.
//
// Handlers do the non-deterministic work BEFORE proposing: scrypt the password
// with a fresh salt (see users.ts SCRYPT_PARAMS), draw the login token and send
// only its digest (sessions.ts tokenDigest), verify the password against the
// state they read. Apply re-validates every field (same messages as the
// handler's pre-check), so a bad command is refused whole, never half-applied.
import type { CommandBase } from "../command.js";
import type { Role } from "./authorize.js";
import type { LifecycleAction } from "./lifecycle.js";
import type { InstalledSoftware, ResourceFields } from "./resource-types.js";

interface PlatformCommandBase extends CommandBase {
  /** Authenticated username; "" = anonymous (only user-register accepts it). */
  readonly actor: string;
}

/** A new password as the handler hashed it: scrypt(password, salt) with SCRYPT_PARAMS. */
export interface PasswordHash {
  readonly salt: Uint8Array;
  readonly hash: Uint8Array;
}

export interface UserRegisterCommand extends PlatformCommandBase {
  readonly kind: "user-register";
  readonly username: string;
  readonly email: string;
  /** E.164, or "" for none. */
  readonly phone: string;
  /** Empty = the default (viewer; admin for the very first user). Other roles need an admin actor. */
  readonly roles: readonly Role[];
  readonly password: PasswordHash;
}

/** null = leave the field as it is. */
export interface UserUpdateCommand extends PlatformCommandBase {
  readonly kind: "user-update";
  readonly username: string;
  /** 0 = unconditional; otherwise the user's version must equal it. */
  readonly expectedVersion: number;
  readonly email: string | null;
  readonly phone: string | null;
  readonly roles: readonly Role[] | null;
  readonly password: PasswordHash | null;
}

export interface UserDeleteCommand extends PlatformCommandBase {
  readonly kind: "user-delete";
  readonly username: string;
}

/**
 * Login after the handler verified the password against user version
 * `userVersion`; apply refuses (aborted) if the user changed since.
 */
export interface UserLoginCommand extends PlatformCommandBase {
  readonly kind: "user-login";
  readonly username: string;
  readonly userVersion: number;
  /** tokenDigest(token): the token itself never enters the log. */
  readonly tokenHash: string;
  /** Expiry = at + ttlMs (the proposer's clock). */
  readonly ttlMs: number;
}

export interface UserLogoutCommand extends PlatformCommandBase {
  readonly kind: "user-logout";
  readonly tokenHash: string;
}

/**
 * Fencing for a resource write: either a platform lock and the token its
 * holder got, or an etcd v3 lock key (the v3lock/concurrency recipe) and that
 * key's create revision, which is etcd's own fencing token.
 */
export type Fence =
  | { readonly kind: "lock"; readonly lock: string; readonly token: number }
  | { readonly kind: "etcd-key"; readonly key: Uint8Array; readonly token: number };

export interface ResourceCreateCommand extends PlatformCommandBase {
  readonly kind: "resource-create";
  /** owner "" = the actor. */
  readonly fields: ResourceFields;
}

/** Update needs expectedVersion > 0 or a fence (or both). null fields stay as they are. */
export interface ResourceUpdateCommand extends PlatformCommandBase {
  readonly kind: "resource-update";
  readonly resourceId: string;
  readonly expectedVersion: number;
  readonly fence: Fence | null;
  readonly patch: { readonly [F in keyof ResourceFields]: ResourceFields[F] | null };
}

export interface ResourceLifecycleCommand extends PlatformCommandBase {
  readonly kind: "resource-lifecycle";
  readonly resourceId: string;
  readonly action: LifecycleAction;
  /** Why (kept as the status message for "fail"). */
  readonly reason: string;
  readonly fence: Fence | null;
}

export interface ResourceInstallCommand extends PlatformCommandBase {
  readonly kind: "resource-install";
  readonly resourceId: string;
  readonly software: Omit<InstalledSoftware, "installedAtMs">;
  readonly fence: Fence | null;
}

/**
 * Acquire (wait true: queue behind the holder) or TryAcquire (wait false: take
 * it only if free). leaseId 0 grants a new lease of ttlSeconds in the same
 * apply (the handler raises ttlSeconds to the lease minimum).
 */
export interface LockAcquireCommand extends PlatformCommandBase {
  readonly kind: "lock-acquire";
  readonly name: string;
  readonly leaseId: number;
  readonly ttlSeconds: number;
  readonly wait: boolean;
}

/** Releases the hold of `leaseId` (token 0 = whatever it holds) or withdraws its place in the queue. */
export interface LockReleaseCommand extends PlatformCommandBase {
  readonly kind: "lock-release";
  readonly name: string;
  readonly leaseId: number;
  readonly token: number;
}

/** Join, or update an existing member's address/weight/metadata/lease. leaseId 0 grants one. */
export interface MemberJoinCommand extends PlatformCommandBase {
  readonly kind: "member-join";
  readonly group: string;
  readonly memberId: string;
  readonly address: string;
  readonly weight: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly leaseId: number;
  readonly ttlSeconds: number;
}

export interface MemberLeaveCommand extends PlatformCommandBase {
  readonly kind: "member-leave";
  readonly group: string;
  readonly memberId: string;
}

export interface OpLogRetentionCommand extends PlatformCommandBase {
  readonly kind: "oplog-retention";
  readonly maxRecords: number;
  readonly maxAgeMs: number;
}

export type PlatformCommand =
  | UserRegisterCommand
  | UserUpdateCommand
  | UserDeleteCommand
  | UserLoginCommand
  | UserLogoutCommand
  | ResourceCreateCommand
  | ResourceUpdateCommand
  | ResourceLifecycleCommand
  | ResourceInstallCommand
  | LockAcquireCommand
  | LockReleaseCommand
  | MemberJoinCommand
  | MemberLeaveCommand
  | OpLogRetentionCommand;

export const PLATFORM_COMMAND_KINDS: ReadonlySet<string> = new Set<PlatformCommand["kind"]>([
  "user-register",
  "user-update",
  "user-delete",
  "user-login",
  "user-logout",
  "resource-create",
  "resource-update",
  "resource-lifecycle",
  "resource-install",
  "lock-acquire",
  "lock-release",
  "member-join",
  "member-leave",
  "oplog-retention",
]);
