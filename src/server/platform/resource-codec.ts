// Translation between cairn.v1 resource messages and the state machine's
// resource records: typed specs, enums (by name, so a proto renumbering
// cannot silently shift them), fences, filters and sort. Unknown enum numbers
// are refused here with the proto's own names; every range check is left to
// the state machine's validators so the wording is the same everywhere.
import { cairn } from "../../gen/cairn.js";
import {
  type BackupPolicy,
  DATABASE_ENGINES,
  type DatabaseSpec,
  type Fence,
  LOAD_BALANCER_ALGORITHMS,
  RESOURCE_KINDS,
  RESOURCE_STATUSES,
  type Resource,
  type ResourceFields,
  type ResourceFilter,
  type ResourceSortField,
  type ResourceSpec,
  type ServerSpec,
} from "../../state/index.js";
import { assert } from "../../util/assert.js";
import { invalid } from "./platform-errors.js";

interface EnumTable<T extends string> {
  toProto(value: T): number;
  /** undefined for UNSPECIFIED and unknown numbers. */
  fromProto(value: number): T | undefined;
  readonly names: string;
}

/** Pairs state values with proto enum members named PREFIX + VALUE (upper case). */
function enumTable<T extends string>(
  values: readonly T[],
  protoEnum: object,
  prefix: string,
): EnumTable<T> {
  const byName = protoEnum as Readonly<Record<string, number>>;
  const toProto = new Map<T, number>();
  const fromProto = new Map<number, T>();
  for (const value of values) {
    const number = byName[`${prefix}${value.toUpperCase()}`];
    assert(typeof number === "number" && number > 0, `proto enum ${prefix} lacks ${value}`);
    toProto.set(value, number);
    fromProto.set(number, value);
  }
  return {
    toProto: (value) => toProto.get(value) as number,
    fromProto: (value) => fromProto.get(value),
    names: values.map((value) => `${prefix}${value.toUpperCase()}`).join("|"),
  };
}

const KINDS = enumTable(RESOURCE_KINDS, cairn.v1.ResourceKind, "RESOURCE_KIND_");
const STATUSES = enumTable(RESOURCE_STATUSES, cairn.v1.ResourceStatus, "RESOURCE_STATUS_");
const ENGINES = enumTable(DATABASE_ENGINES, cairn.v1.DatabaseEngine, "DATABASE_ENGINE_");
const ALGORITHMS = enumTable(
  LOAD_BALANCER_ALGORITHMS,
  cairn.v1.LoadBalancerAlgorithm,
  "LOAD_BALANCER_ALGORITHM_",
);

function required<T extends string>(table: EnumTable<T>, value: number, path: string): T {
  const known = table.fromProto(value);
  if (known === undefined) throw invalid(`${path} must be one of ${table.names}, got ${value}`);
  return known;
}

/** 0 (UNSPECIFIED) = any; other unknown numbers are refused. */
function optionalEnum<T extends string>(table: EnumTable<T>, value: number, path: string): T | "" {
  return value === 0 ? "" : required(table, value, path);
}

type Backup = cairn.v1.BackupPolicy.$Properties | null | undefined;

function backupFromProto(backup: Backup): BackupPolicy | null {
  if (backup == null) return null;
  return { schedule: backup.schedule ?? "", retentionDays: backup.retentionDays ?? 0 };
}

function serverFromProto(spec: cairn.v1.ServerSpec.$Properties): ServerSpec {
  const lb = spec.loadBalancer;
  const ssl = spec.sslCertificate;
  const path = "resource.spec.load_balancer.algorithm";
  return {
    kind: "server",
    image: spec.image ?? "",
    cpu: spec.cpu ?? 0,
    memoryMib: spec.memoryMib ?? 0,
    diskGib: spec.diskGib ?? 0,
    bandwidthMbps: spec.bandwidthMbps ?? 0,
    hostname: spec.hostname ?? "",
    dnsServers: [...(spec.dnsServers ?? [])],
    sshKeyFingerprints: [...(spec.sshKeyFingerprints ?? [])],
    backup: backupFromProto(spec.backup),
    loadBalancer:
      lb == null
        ? null
        : {
            algorithm: required(ALGORITHMS, lb.algorithm ?? 0, path),
            backends: [...(lb.backends ?? [])],
          },
    sslCertificate:
      ssl == null ? null : { domain: ssl.domain ?? "", notAfterMs: ssl.notAfterMs ?? 0 },
  };
}

function databaseFromProto(spec: cairn.v1.DatabaseSpec.$Properties): DatabaseSpec {
  return {
    kind: "database",
    engine: required(ENGINES, spec.engine ?? 0, "resource.spec.engine"),
    version: spec.version ?? "",
    cpu: spec.cpu ?? 0,
    memoryMib: spec.memoryMib ?? 0,
    diskGib: spec.diskGib ?? 0,
    replicas: spec.replicas ?? 0,
    backup: backupFromProto(spec.backup),
  };
}

interface SpecSource {
  readonly server?: cairn.v1.ServerSpec.$Properties | null;
  readonly database?: cairn.v1.DatabaseSpec.$Properties | null;
}

/** The request's spec oneof; null when neither is set. */
export function specFromProto(source: SpecSource): ResourceSpec | null {
  if (source.server != null) return serverFromProto(source.server);
  if (source.database != null) return databaseFromProto(source.database);
  return null;
}

export function fieldsFromCreate(
  request: cairn.v1.CreateResourceRequest.$Properties,
): ResourceFields {
  const spec = specFromProto(request);
  if (spec === null) throw invalid("resource.spec must be a server or a database spec, got none");
  return {
    name: request.name ?? "",
    category: request.category ?? "",
    labels: { ...(request.labels ?? {}) },
    region: request.region ?? "",
    owner: request.owner ?? "",
    spec,
  };
}

export type ResourcePatch = { readonly [F in keyof ResourceFields]: ResourceFields[F] | null };

/** Unset optional fields stay null (unchanged); a LabelMap replaces every label. */
export function patchFromUpdate(
  request: cairn.v1.UpdateResourceRequest.$Properties,
): ResourcePatch {
  return {
    name: request.name ?? null,
    category: request.category ?? null,
    labels: request.labels == null ? null : { ...(request.labels.labels ?? {}) },
    region: request.region ?? null,
    owner: request.owner ?? null,
    spec: specFromProto(request),
  };
}

export function fenceFromProto(fence: cairn.v1.Fence.$Properties | null | undefined): Fence | null {
  if (fence == null) return null;
  const token = fence.token ?? 0;
  if (fence.lock != null) return { kind: "lock", lock: fence.lock, token };
  if (fence.etcdKey != null) return { kind: "etcd-key", key: new Uint8Array(fence.etcdKey), token };
  throw invalid("fence must name a lock or an etcd_key, got neither");
}

export function filterFromProto(
  filter: cairn.v1.ResourceFilter.$Properties | null | undefined,
): ResourceFilter {
  return {
    kind: optionalEnum(KINDS, filter?.kind ?? 0, "filter.kind"),
    status: optionalEnum(STATUSES, filter?.status ?? 0, "filter.status"),
    region: filter?.region ?? "",
    owner: filter?.owner ?? "",
    category: filter?.category ?? "",
    labelSelector: filter?.labelSelector ?? "",
    nameContains: filter?.nameContains ?? "",
  };
}

export function sortFromProto(
  sortBy: number,
  order: number,
): { sortBy: ResourceSortField; descending: boolean } {
  const field = (
    {
      [cairn.v1.ResourceSortField.RESOURCE_SORT_FIELD_UNSPECIFIED]: "name",
      [cairn.v1.ResourceSortField.RESOURCE_SORT_FIELD_NAME]: "name",
      [cairn.v1.ResourceSortField.RESOURCE_SORT_FIELD_CREATED_AT]: "created_at",
      [cairn.v1.ResourceSortField.RESOURCE_SORT_FIELD_UPDATED_AT]: "updated_at",
    } as Readonly<Record<number, ResourceSortField>>
  )[sortBy];
  if (field === undefined) {
    throw invalid(
      `sort_by must be one of RESOURCE_SORT_FIELD_NAME|CREATED_AT|UPDATED_AT, got ${sortBy}`,
    );
  }
  return { sortBy: field, descending: sortDescending(order) };
}

export function sortDescending(order: number): boolean {
  switch (order) {
    case cairn.v1.SortOrder.SORT_ORDER_UNSPECIFIED:
    case cairn.v1.SortOrder.SORT_ORDER_ASCENDING:
      return false;
    case cairn.v1.SortOrder.SORT_ORDER_DESCENDING:
      return true;
    default:
      throw invalid(
        `order must be one of SORT_ORDER_ASCENDING|SORT_ORDER_DESCENDING, got ${order}`,
      );
  }
}

function backupToProto(backup: BackupPolicy | null): cairn.v1.BackupPolicy.$Properties | null {
  return backup === null
    ? null
    : { schedule: backup.schedule, retentionDays: backup.retentionDays };
}

function specToProto(
  spec: ResourceSpec,
): Pick<cairn.v1.Resource.$Properties, "server" | "database"> {
  const size = { cpu: spec.cpu, memoryMib: spec.memoryMib, diskGib: spec.diskGib };
  if (spec.kind === "database") {
    return {
      database: {
        engine: ENGINES.toProto(spec.engine),
        version: spec.version,
        ...size,
        replicas: spec.replicas,
        backup: backupToProto(spec.backup),
      },
    };
  }
  const lb = spec.loadBalancer;
  const ssl = spec.sslCertificate;
  return {
    server: {
      image: spec.image,
      ...size,
      bandwidthMbps: spec.bandwidthMbps,
      hostname: spec.hostname,
      dnsServers: [...spec.dnsServers],
      sshKeyFingerprints: [...spec.sshKeyFingerprints],
      backup: backupToProto(spec.backup),
      loadBalancer:
        lb === null
          ? null
          : { algorithm: ALGORITHMS.toProto(lb.algorithm), backends: [...lb.backends] },
      sslCertificate: ssl === null ? null : { domain: ssl.domain, notAfterMs: ssl.notAfterMs },
    },
  };
}

export function resourceToProto(resource: Resource): cairn.v1.Resource.$Properties {
  return {
    id: resource.id,
    kind: KINDS.toProto(resource.kind),
    name: resource.name,
    category: resource.category,
    labels: { ...resource.labels },
    region: resource.region,
    owner: resource.owner,
    status: STATUSES.toProto(resource.status),
    statusMessage: resource.statusMessage,
    installedSoftware: resource.installedSoftware.map((software) => ({ ...software })),
    ...specToProto(resource.spec),
    createdAtMs: resource.createdAtMs,
    updatedAtMs: resource.updatedAtMs,
    version: resource.version,
    createRevision: resource.createRevision,
    modRevision: resource.modRevision,
  };
}
