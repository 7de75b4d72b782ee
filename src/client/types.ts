// The platform's domain values as the client library hands them out: plain
// objects with string enums ("running", not RESOURCE_STATUS_RUNNING = 2), so
// they print, compare and serialise as JSON without the generated classes.
// convert.ts maps them to and from the wire messages.

export type Role = "admin" | "operator" | "viewer";
export type ResourceKind = "server" | "database";
export type ResourceStatus = "provisioning" | "running" | "stopped" | "error" | "deleted";
export type DatabaseEngine = "mysql" | "postgresql" | "redis" | "mongodb";
export type LoadBalancerAlgorithm =
  | "round-robin"
  | "weighted"
  | "least-connections"
  | "ip-hash"
  | "url-hash";
export type SortOrder = "ascending" | "descending";
export type ResourceSortField = "name" | "created-at" | "updated-at";

export interface User {
  readonly username: string;
  readonly email: string;
  readonly phone: string;
  readonly roles: readonly Role[];
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  readonly version: number;
  readonly createRevision: number;
  readonly modRevision: number;
}

export interface BackupPolicy {
  /** Five-field cron expression in UTC. */
  readonly schedule: string;
  readonly retentionDays: number;
}

export interface LoadBalancer {
  readonly algorithm: LoadBalancerAlgorithm;
  readonly backends: readonly string[];
}

export interface SslCertificate {
  readonly domain: string;
  readonly notAfterMs: number;
}

export interface ServerSpec {
  readonly image: string;
  readonly cpu: number;
  readonly memoryMib: number;
  readonly diskGib: number;
  readonly bandwidthMbps: number;
  readonly hostname: string;
  readonly dnsServers?: readonly string[];
  readonly sshKeyFingerprints?: readonly string[];
  readonly backup?: BackupPolicy;
  readonly loadBalancer?: LoadBalancer;
  readonly sslCertificate?: SslCertificate;
}

export interface DatabaseSpec {
  readonly engine: DatabaseEngine;
  readonly version: string;
  readonly cpu: number;
  readonly memoryMib: number;
  readonly diskGib: number;
  readonly replicas?: number;
  readonly backup?: BackupPolicy;
}

export interface InstalledSoftware {
  readonly name: string;
  readonly version: string;
  readonly installedAtMs: number;
}

export interface Resource {
  readonly id: string;
  readonly kind: ResourceKind;
  readonly name: string;
  readonly category: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly region: string;
  readonly owner: string;
  readonly status: ResourceStatus;
  readonly statusMessage: string;
  readonly installedSoftware: readonly InstalledSoftware[];
  readonly server?: ServerSpec;
  readonly database?: DatabaseSpec;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  readonly version: number;
  readonly createRevision: number;
  readonly modRevision: number;
}

/** Exactly one of `server` / `database` names the kind. */
export interface CreateResourceInput {
  readonly name: string;
  readonly category?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly region?: string;
  /** Empty = the caller. */
  readonly owner?: string;
  readonly server?: ServerSpec;
  readonly database?: DatabaseSpec;
}

/**
 * Proof of holding a lock, presented on a resource write: a platform lock's
 * name and the token Acquire returned, or an etcd lock key and its create revision.
 */
export interface Fence {
  readonly lock?: string;
  readonly etcdKey?: string | Uint8Array;
  readonly token: number;
}

/** Unset fields stay as they are; needs expectedVersion or fence (or both). */
export interface UpdateResourceInput {
  readonly expectedVersion?: number;
  readonly fence?: Fence;
  readonly name?: string;
  readonly category?: string;
  /** Replaces the whole label map. */
  readonly labels?: Readonly<Record<string, string>>;
  readonly region?: string;
  readonly owner?: string;
  readonly server?: ServerSpec;
  readonly database?: DatabaseSpec;
}

export interface ResourceFilter {
  readonly kind?: ResourceKind;
  /** Unset lists every status but deleted. */
  readonly status?: ResourceStatus;
  readonly region?: string;
  readonly owner?: string;
  readonly category?: string;
  /** "env=prod,tier!=db". */
  readonly labelSelector?: string;
  /** Case-insensitive substring of the name. */
  readonly nameContains?: string;
}

export interface ResourceEvent {
  readonly type: "created" | "updated";
  readonly revision: number;
  /** The op-log sequence of the change: resume a watch after it. */
  readonly sequence: number;
  readonly resource: Resource;
  readonly prev?: Resource;
}

export interface ResourceStats {
  readonly revision: number;
  readonly total: number;
  readonly byKind: Readonly<Record<string, number>>;
  readonly byStatus: Readonly<Record<string, number>>;
  readonly byRegion: Readonly<Record<string, number>>;
  readonly byOwner: Readonly<Record<string, number>>;
  readonly cpuTotal: number;
  readonly memoryMibTotal: number;
  readonly diskGibTotal: number;
}

export interface OpLogRecord {
  readonly sequence: number;
  readonly revision: number;
  readonly atMs: number;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly outcome: string;
  readonly before: Readonly<Record<string, string>>;
  readonly after: Readonly<Record<string, string>>;
}

export interface OpLogFilter {
  readonly target?: string;
  readonly resourceId?: string;
  readonly actor?: string;
  readonly action?: string;
  /** [fromMs, toMs), ms since the epoch. */
  readonly fromMs?: number;
  readonly toMs?: number;
}

export interface LockHolder {
  readonly leaseId: number;
  readonly owner: string;
  readonly token: number;
  readonly acquiredAtMs: number;
}

export interface LockWaiter {
  readonly leaseId: number;
  readonly owner: string;
  readonly enqueuedAtMs: number;
}

export interface LockState {
  readonly held: boolean;
  readonly holder?: LockHolder;
  /** In line order. */
  readonly waiters: readonly LockWaiter[];
}

export interface AcquireResult {
  readonly acquired: boolean;
  /** The fencing token while held, else 0. */
  readonly token: number;
  readonly leaseId: number;
  /** The holder (on a busy TryAcquire: who holds it). */
  readonly holder?: LockHolder;
}

export interface Member {
  readonly group: string;
  readonly memberId: string;
  readonly address: string;
  readonly weight: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly leaseId: number;
  readonly joinedAtMs: number;
  readonly joinRevision: number;
  readonly modRevision: number;
}

export interface MembershipChange {
  readonly group: string;
  readonly revision: number;
  readonly type: "join" | "update" | "leave";
  readonly memberId: string;
  readonly membersBefore: number;
  readonly membersAfter: number;
  /** Share of a fixed key sample whose primary owner moved (0..1). */
  readonly movedFraction: number;
}

/** One page of a listing; `revision` is the revision the listing reads at. */
export interface Page<T> {
  readonly items: readonly T[];
  /** Empty on the last page. */
  readonly nextPageToken: string;
  readonly revision: number;
}
