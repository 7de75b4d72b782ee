// Wire messages (generated cairn.v1 classes, numeric enums) to and from the
// plain domain values of types.ts. Unknown enum numbers from a newer server
// fail loudly here rather than turn into undefined somewhere later.
import type { cairn } from "../gen/cairn.js";
import type {
  BackupPolicy,
  DatabaseEngine,
  DatabaseSpec,
  Fence,
  InstalledSoftware,
  LoadBalancerAlgorithm,
  LockHolder,
  Member,
  MembershipChange,
  OpLogFilter,
  OpLogRecord,
  Resource,
  ResourceEvent,
  ResourceFilter,
  ResourceKind,
  ResourceSortField,
  ResourceStatus,
  Role,
  ServerSpec,
  SortOrder,
  User,
} from "./types.js";

type Props<T> = T | null | undefined;

/** Index = the proto enum number; index 0 (UNSPECIFIED) maps to undefined. */
const ROLES: readonly (Role | undefined)[] = [undefined, "admin", "operator", "viewer"];
const KINDS: readonly (ResourceKind | undefined)[] = [undefined, "server", "database"];
const STATUSES: readonly (ResourceStatus | undefined)[] = [
  undefined,
  "provisioning",
  "running",
  "stopped",
  "error",
  "deleted",
];
const ENGINES: readonly (DatabaseEngine | undefined)[] = [
  undefined,
  "mysql",
  "postgresql",
  "redis",
  "mongodb",
];
const ALGORITHMS: readonly (LoadBalancerAlgorithm | undefined)[] = [
  undefined,
  "round-robin",
  "weighted",
  "least-connections",
  "ip-hash",
  "url-hash",
];
const SORT_FIELDS: readonly (ResourceSortField | undefined)[] = [
  undefined,
  "name",
  "created-at",
  "updated-at",
];
const CHANGE_TYPES: readonly (MembershipChange["type"] | undefined)[] = [
  undefined,
  "join",
  "update",
  "leave",
];

function fromEnum<T extends string>(
  table: readonly (T | undefined)[],
  value: number | null | undefined,
  what: string,
): T {
  const name = table[value ?? 0];
  if (name === undefined) throw new Error(`server sent an unknown ${what} (${value ?? 0})`);
  return name;
}

function toEnum<T extends string>(
  table: readonly (T | undefined)[],
  name: T,
  what: string,
): number {
  const index = table.indexOf(name);
  if (index <= 0) {
    throw new RangeError(
      `${what} must be one of ${table.filter((t) => t !== undefined).join("|")}, got ${JSON.stringify(name)}`,
    );
  }
  return index;
}

export const roleNames = ROLES.filter((r): r is Role => r !== undefined);
export const resourceKinds = KINDS.filter((k): k is ResourceKind => k !== undefined);
export const resourceStatuses = STATUSES.filter((s): s is ResourceStatus => s !== undefined);
export const databaseEngines = ENGINES.filter((e): e is DatabaseEngine => e !== undefined);

export const toRole = (role: Role): number => toEnum(ROLES, role, "role");
export const toKind = (kind: ResourceKind): number => toEnum(KINDS, kind, "kind");
export const toStatus = (status: ResourceStatus): number => toEnum(STATUSES, status, "status");
export const toSortField = (field: ResourceSortField): number =>
  toEnum(SORT_FIELDS, field, "sort field");
export const toSortOrder = (order: SortOrder): number => (order === "descending" ? 2 : 1);

export function fromUser(user: Props<cairn.v1.User.$Properties>): User {
  return {
    username: user?.username ?? "",
    email: user?.email ?? "",
    phone: user?.phone ?? "",
    roles: (user?.roles ?? []).map((role) => fromEnum(ROLES, role, "role")),
    createdAtMs: user?.createdAtMs ?? 0,
    updatedAtMs: user?.updatedAtMs ?? 0,
    version: user?.version ?? 0,
    createRevision: user?.createRevision ?? 0,
    modRevision: user?.modRevision ?? 0,
  };
}

function fromBackup(backup: Props<cairn.v1.BackupPolicy.$Properties>): BackupPolicy | undefined {
  if (backup === null || backup === undefined) return undefined;
  return { schedule: backup.schedule ?? "", retentionDays: backup.retentionDays ?? 0 };
}

/** Copies only defined values, as exactOptionalPropertyTypes wants. */
function defined<T extends object>(fields: { [K in keyof T]: T[K] | undefined }): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) out[key] = value;
  return out as T;
}

function fromServerSpec(spec: cairn.v1.ServerSpec.$Properties): ServerSpec {
  const balancer = spec.loadBalancer;
  return defined<ServerSpec>({
    image: spec.image ?? "",
    cpu: spec.cpu ?? 0,
    memoryMib: spec.memoryMib ?? 0,
    diskGib: spec.diskGib ?? 0,
    bandwidthMbps: spec.bandwidthMbps ?? 0,
    hostname: spec.hostname ?? "",
    dnsServers: spec.dnsServers ?? [],
    sshKeyFingerprints: spec.sshKeyFingerprints ?? [],
    backup: fromBackup(spec.backup),
    loadBalancer:
      balancer === null || balancer === undefined
        ? undefined
        : {
            algorithm: fromEnum(ALGORITHMS, balancer.algorithm, "load balancer algorithm"),
            backends: balancer.backends ?? [],
          },
    sslCertificate:
      spec.sslCertificate === null || spec.sslCertificate === undefined
        ? undefined
        : {
            domain: spec.sslCertificate.domain ?? "",
            notAfterMs: spec.sslCertificate.notAfterMs ?? 0,
          },
  });
}

function fromDatabaseSpec(spec: cairn.v1.DatabaseSpec.$Properties): DatabaseSpec {
  return defined<DatabaseSpec>({
    engine: fromEnum(ENGINES, spec.engine, "database engine"),
    version: spec.version ?? "",
    cpu: spec.cpu ?? 0,
    memoryMib: spec.memoryMib ?? 0,
    diskGib: spec.diskGib ?? 0,
    replicas: spec.replicas ?? 0,
    backup: fromBackup(spec.backup),
  });
}

function fromSoftware(software: cairn.v1.InstalledSoftware.$Properties): InstalledSoftware {
  return {
    name: software.name ?? "",
    version: software.version ?? "",
    installedAtMs: software.installedAtMs ?? 0,
  };
}

export function fromResource(resource: Props<cairn.v1.Resource.$Properties>): Resource {
  if (resource === null || resource === undefined) {
    throw new Error("server answered without the resource");
  }
  return defined<Resource>({
    id: resource.id ?? "",
    kind: fromEnum(KINDS, resource.kind, "resource kind"),
    name: resource.name ?? "",
    category: resource.category ?? "",
    labels: { ...(resource.labels ?? {}) },
    region: resource.region ?? "",
    owner: resource.owner ?? "",
    status: fromEnum(STATUSES, resource.status, "resource status"),
    statusMessage: resource.statusMessage ?? "",
    installedSoftware: (resource.installedSoftware ?? []).map(fromSoftware),
    server: resource.server ? fromServerSpec(resource.server) : undefined,
    database: resource.database ? fromDatabaseSpec(resource.database) : undefined,
    createdAtMs: resource.createdAtMs ?? 0,
    updatedAtMs: resource.updatedAtMs ?? 0,
    version: resource.version ?? 0,
    createRevision: resource.createRevision ?? 0,
    modRevision: resource.modRevision ?? 0,
  });
}

export function toServerSpec(spec: ServerSpec): cairn.v1.ServerSpec.$Properties {
  const { loadBalancer, dnsServers, sshKeyFingerprints, ...rest } = spec;
  return {
    ...rest,
    dnsServers: [...(dnsServers ?? [])],
    sshKeyFingerprints: [...(sshKeyFingerprints ?? [])],
    ...(loadBalancer === undefined
      ? {}
      : {
          loadBalancer: {
            algorithm: toEnum(ALGORITHMS, loadBalancer.algorithm, "loadBalancer.algorithm"),
            backends: [...loadBalancer.backends],
          },
        }),
  };
}

export function toDatabaseSpec(spec: DatabaseSpec): cairn.v1.DatabaseSpec.$Properties {
  return { ...spec, engine: toEnum(ENGINES, spec.engine, "database.engine") };
}

export function toFence(fence: Fence | undefined): cairn.v1.Fence.$Properties | null {
  if (fence === undefined) return null;
  if ((fence.lock === undefined) === (fence.etcdKey === undefined)) {
    throw new RangeError("a fence names exactly one of lock or etcdKey");
  }
  if (fence.lock !== undefined) return { lock: fence.lock, token: fence.token };
  const key = fence.etcdKey as string | Uint8Array;
  return { etcdKey: typeof key === "string" ? Buffer.from(key) : key, token: fence.token };
}

export function toResourceFilter(filter: ResourceFilter = {}): cairn.v1.ResourceFilter.$Properties {
  return {
    kind: filter.kind === undefined ? 0 : toKind(filter.kind),
    status: filter.status === undefined ? 0 : toStatus(filter.status),
    region: filter.region ?? "",
    owner: filter.owner ?? "",
    category: filter.category ?? "",
    labelSelector: filter.labelSelector ?? "",
    nameContains: filter.nameContains ?? "",
  };
}

export function fromResourceEvent(event: cairn.v1.ResourceEvent.$Properties): ResourceEvent {
  const type = event.type === 1 ? "created" : "updated";
  return defined<ResourceEvent>({
    type,
    revision: event.revision ?? 0,
    sequence: event.sequence ?? 0,
    resource: fromResource(event.resource),
    prev: event.prev ? fromResource(event.prev) : undefined,
  });
}

export function fromOpLogRecord(record: cairn.v1.OpLogRecord.$Properties): OpLogRecord {
  return {
    sequence: record.sequence ?? 0,
    revision: record.revision ?? 0,
    atMs: record.atMs ?? 0,
    actor: record.actor ?? "",
    action: record.action ?? "",
    target: record.target ?? "",
    outcome: record.outcome ?? "",
    before: { ...(record.before ?? {}) },
    after: { ...(record.after ?? {}) },
  };
}

export function toOpLogFilter(filter: OpLogFilter = {}): cairn.v1.OpLogFilter.$Properties {
  return {
    target: filter.target ?? "",
    resourceId: filter.resourceId ?? "",
    actor: filter.actor ?? "",
    action: filter.action ?? "",
    fromMs: filter.fromMs ?? 0,
    toMs: filter.toMs ?? 0,
  };
}

export function fromLockHolder(
  holder: Props<cairn.v1.LockHolder.$Properties>,
): LockHolder | undefined {
  if (holder === null || holder === undefined) return undefined;
  return {
    leaseId: holder.leaseId ?? 0,
    owner: holder.owner ?? "",
    token: holder.token ?? 0,
    acquiredAtMs: holder.acquiredAtMs ?? 0,
  };
}

export function fromMember(member: cairn.v1.Member.$Properties): Member {
  return {
    group: member.group ?? "",
    memberId: member.memberId ?? "",
    address: member.address ?? "",
    weight: member.weight ?? 0,
    metadata: { ...(member.metadata ?? {}) },
    leaseId: member.leaseId ?? 0,
    joinedAtMs: member.joinedAtMs ?? 0,
    joinRevision: member.joinRevision ?? 0,
    modRevision: member.modRevision ?? 0,
  };
}

export function fromMembershipChange(
  change: cairn.v1.MembershipChange.$Properties,
): MembershipChange {
  return {
    group: change.group ?? "",
    revision: change.revision ?? 0,
    type: fromEnum(CHANGE_TYPES, change.type, "membership change type"),
    memberId: change.memberId ?? "",
    membersBefore: change.membersBefore ?? 0,
    membersAfter: change.membersAfter ?? 0,
    movedFraction: change.movedFraction ?? 0,
  };
}

/** Parses a role name given by a person (CLI flags), with the allowed values in the error. */
export function parseRole(name: string): Role {
  const role = roleNames.find((r) => r === name.toLowerCase());
  if (role === undefined) {
    throw new RangeError(`role must be one of ${roleNames.join("|")}, got ${JSON.stringify(name)}`);
  }
  return role;
}
