// Flags of `cairn resource …` turned into client inputs: the spec of a new
// server or database, a spec update merged over the current one, filters,
// and a fence. Range checks stay with the server, which names the field and
// the allowed range; here only the shape of each value is checked.
import { databaseEngines, resourceKinds, resourceStatuses } from "../client/convert.js";
import type {
  BackupPolicy,
  DatabaseSpec,
  Fence,
  Resource,
  ResourceFilter,
  ServerSpec,
} from "../client/types.js";
import { CliError, parseChoice, parseInteger } from "./parse.js";

const INT_MAX = Number.MAX_SAFE_INTEGER;

export interface SpecFlags {
  readonly image?: string;
  readonly cpu?: string;
  readonly memoryMib?: string;
  readonly diskGib?: string;
  readonly bandwidthMbps?: string;
  readonly hostname?: string;
  readonly dns: string[];
  readonly sshKey: string[];
  readonly engine?: string;
  readonly dbVersion?: string;
  readonly replicas?: string;
  readonly backupSchedule?: string;
  readonly backupRetentionDays?: string;
}

export interface FilterFlags {
  readonly kind?: string;
  readonly status?: string;
  readonly region?: string;
  readonly owner?: string;
  readonly category?: string;
  readonly selector?: string;
  readonly nameContains?: string;
}

export interface FenceFlags {
  readonly fenceLock?: string;
  readonly fenceToken?: string;
}

function int(flag: string, text: string | undefined): number | undefined {
  return text === undefined ? undefined : parseInteger(flag, text, 0, INT_MAX);
}

function required(flag: string, value: number | string | undefined, kind: string): number | string {
  if (value === undefined) throw new CliError(`a ${kind} needs ${flag}`);
  return value;
}

function backup(flags: SpecFlags, current?: BackupPolicy): BackupPolicy | undefined {
  const schedule = flags.backupSchedule ?? current?.schedule;
  const days = int("--backup-retention-days", flags.backupRetentionDays) ?? current?.retentionDays;
  if (schedule === undefined && days === undefined) return undefined;
  if (schedule === undefined || days === undefined) {
    throw new CliError("a backup policy needs both --backup-schedule and --backup-retention-days");
  }
  return { schedule, retentionDays: days };
}

/** A server spec from flags over `current` (for updates) or from scratch. */
export function serverSpec(flags: SpecFlags, name: string, current?: ServerSpec): ServerSpec {
  const policy = backup(flags, current?.backup);
  return {
    image: String(required("--image", flags.image ?? current?.image, "server")),
    cpu: Number(required("--cpu", int("--cpu", flags.cpu) ?? current?.cpu, "server")),
    memoryMib: Number(
      required(
        "--memory-mib",
        int("--memory-mib", flags.memoryMib) ?? current?.memoryMib,
        "server",
      ),
    ),
    diskGib: Number(
      required("--disk-gib", int("--disk-gib", flags.diskGib) ?? current?.diskGib, "server"),
    ),
    bandwidthMbps: int("--bandwidth-mbps", flags.bandwidthMbps) ?? current?.bandwidthMbps ?? 1_000,
    // A host name defaults to the resource name, which is usually what one wants.
    hostname: flags.hostname ?? current?.hostname ?? name.toLowerCase(),
    dnsServers: flags.dns.length > 0 ? flags.dns : [...(current?.dnsServers ?? [])],
    sshKeyFingerprints:
      flags.sshKey.length > 0 ? flags.sshKey : [...(current?.sshKeyFingerprints ?? [])],
    ...(policy === undefined ? {} : { backup: policy }),
    ...(current?.loadBalancer === undefined ? {} : { loadBalancer: current.loadBalancer }),
    ...(current?.sslCertificate === undefined ? {} : { sslCertificate: current.sslCertificate }),
  };
}

export function databaseSpec(flags: SpecFlags, current?: DatabaseSpec): DatabaseSpec {
  const engine = flags.engine ?? current?.engine;
  const policy = backup(flags, current?.backup);
  return {
    engine: parseChoice(
      "--engine",
      String(required("--engine", engine, "database")),
      databaseEngines,
    ),
    version: String(required("--db-version", flags.dbVersion ?? current?.version, "database")),
    cpu: Number(required("--cpu", int("--cpu", flags.cpu) ?? current?.cpu, "database")),
    memoryMib: Number(
      required(
        "--memory-mib",
        int("--memory-mib", flags.memoryMib) ?? current?.memoryMib,
        "database",
      ),
    ),
    diskGib: Number(
      required("--disk-gib", int("--disk-gib", flags.diskGib) ?? current?.diskGib, "database"),
    ),
    replicas: int("--replicas", flags.replicas) ?? current?.replicas ?? 0,
    ...(policy === undefined ? {} : { backup: policy }),
  };
}

/** True when any spec flag was given (an update then sends a whole new spec). */
export function touchesSpec(flags: SpecFlags): boolean {
  const { dns, sshKey, ...single } = flags;
  return dns.length > 0 || sshKey.length > 0 || Object.values(single).some((v) => v !== undefined);
}

/** The spec part of an update: the current spec with the given flags applied. */
export function specUpdate(
  flags: SpecFlags,
  current: Resource,
): { server?: ServerSpec; database?: DatabaseSpec } {
  if (!touchesSpec(flags)) return {};
  return current.kind === "server"
    ? { server: serverSpec(flags, current.name, current.server) }
    : { database: databaseSpec(flags, current.database) };
}

export function resourceFilter(flags: FilterFlags): ResourceFilter {
  const filter: { -readonly [K in keyof ResourceFilter]: ResourceFilter[K] } = {};
  if (flags.kind !== undefined) filter.kind = parseChoice("--kind", flags.kind, resourceKinds);
  if (flags.status !== undefined) {
    filter.status = parseChoice("--status", flags.status, resourceStatuses);
  }
  if (flags.region !== undefined) filter.region = flags.region;
  if (flags.owner !== undefined) filter.owner = flags.owner;
  if (flags.category !== undefined) filter.category = flags.category;
  if (flags.selector !== undefined) filter.labelSelector = flags.selector;
  if (flags.nameContains !== undefined) filter.nameContains = flags.nameContains;
  return filter;
}

export function fence(flags: FenceFlags): Fence | undefined {
  if (flags.fenceLock === undefined && flags.fenceToken === undefined) return undefined;
  if (flags.fenceLock === undefined || flags.fenceToken === undefined) {
    throw new CliError(
      "a fence needs both --fence-lock and --fence-token (as `cairn lock` exports them)",
    );
  }
  return {
    lock: flags.fenceLock,
    token: parseInteger("--fence-token", flags.fenceToken, 1, INT_MAX),
  };
}
