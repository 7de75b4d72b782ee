// The resource records of the platform inventory: the typed specs of the two
// kinds (server, database), the common fields and the lifecycle status. Plain
// readonly data; absent optional parts are null so rows and commands encode
// the same way on every member.

export const RESOURCE_KINDS = ["server", "database"] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

export const RESOURCE_STATUSES = [
  "PROVISIONING",
  "RUNNING",
  "STOPPED",
  "ERROR",
  "DELETED",
] as const;
export type ResourceStatus = (typeof RESOURCE_STATUSES)[number];

export const LOAD_BALANCER_ALGORITHMS = [
  "round_robin",
  "weighted",
  "least_connections",
  "ip_hash",
  "url_hash",
] as const;
export type LoadBalancerAlgorithm = (typeof LOAD_BALANCER_ALGORITHMS)[number];

export const DATABASE_ENGINES = ["mysql", "postgresql", "redis", "mongodb"] as const;
export type DatabaseEngine = (typeof DATABASE_ENGINES)[number];

export interface BackupPolicy {
  /** Five-field cron expression in UTC ("0 3 * * *"). */
  readonly schedule: string;
  readonly retentionDays: number;
}

export interface LoadBalancer {
  readonly algorithm: LoadBalancerAlgorithm;
  /** "host:port" each. */
  readonly backends: readonly string[];
}

export interface SslCertificate {
  readonly domain: string;
  /** Expiry, ms since the epoch. */
  readonly notAfterMs: number;
}

export interface ServerSpec {
  readonly kind: "server";
  readonly image: string;
  readonly cpu: number;
  readonly memoryMib: number;
  readonly diskGib: number;
  readonly bandwidthMbps: number;
  readonly hostname: string;
  readonly dnsServers: readonly string[];
  /** OpenSSH SHA256 fingerprints ("SHA256:" + 43 base64 characters). */
  readonly sshKeyFingerprints: readonly string[];
  readonly backup: BackupPolicy | null;
  readonly loadBalancer: LoadBalancer | null;
  readonly sslCertificate: SslCertificate | null;
}

export interface DatabaseSpec {
  readonly kind: "database";
  readonly engine: DatabaseEngine;
  readonly version: string;
  readonly cpu: number;
  readonly memoryMib: number;
  readonly diskGib: number;
  readonly replicas: number;
  readonly backup: BackupPolicy | null;
}

export type ResourceSpec = ServerSpec | DatabaseSpec;

export interface InstalledSoftware {
  readonly name: string;
  readonly version: string;
  readonly installedAtMs: number;
}

export interface Resource {
  /** "srv-<revision>" or "db-<revision>": the revision that created it, so unique and stable. */
  readonly id: string;
  readonly kind: ResourceKind;
  readonly name: string;
  readonly category: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly region: string;
  /** Username. */
  readonly owner: string;
  readonly status: ResourceStatus;
  /** Why the resource is in ERROR (empty otherwise). */
  readonly statusMessage: string;
  readonly installedSoftware: readonly InstalledSoftware[];
  readonly spec: ResourceSpec;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  /** 1 at creation, +1 per change: Update's expected_version compares against it. */
  readonly version: number;
  readonly createRevision: number;
  readonly modRevision: number;
}

/** The fields a create or an update may set (an update replaces the spec as a whole). */
export interface ResourceFields {
  readonly name: string;
  readonly category: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly region: string;
  readonly owner: string;
  readonly spec: ResourceSpec;
}

export function idPrefix(kind: ResourceKind): string {
  return kind === "server" ? "srv" : "db";
}

/** Labels with keys in sorted order, so equal label sets encode identically. */
export function sortedLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(labels).sort()) out[key] = labels[key] as string;
  return out;
}

/** One-line spec summary for the op log. */
export function specSummary(spec: ResourceSpec): string {
  const size = `cpu=${spec.cpu},memory_mib=${spec.memoryMib},disk_gib=${spec.diskGib}`;
  return spec.kind === "server"
    ? `server image=${spec.image} ${size}`
    : `database ${spec.engine} ${spec.version} ${size},replicas=${spec.replicas}`;
}
