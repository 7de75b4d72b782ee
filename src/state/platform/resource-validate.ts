// Validation of resource fields, specs, software and fences, as tables of
// rules (rules.ts): every limit lives in one row with the field's API path
// and the allowed range, so the handler's pre-check and apply give the same
// message, e.g. `resource.spec.cpu must be 1..512, got 0`.
import { isIP } from "node:net";
import type { Fence } from "./commands.js";
import type {
  BackupPolicy,
  DatabaseSpec,
  InstalledSoftware,
  LoadBalancer,
  ResourceFields,
  ServerSpec,
  SslCertificate,
} from "./resource-types.js";
import { DATABASE_ENGINES, LOAD_BALANCER_ALGORITHMS } from "./resource-types.js";
import {
  checkMap,
  checkRules,
  countAtMost,
  countIn,
  intIn,
  matches,
  oneOf,
  type Rule,
  range,
  show,
} from "./rules.js";
import { USERNAME_ALLOWED, USERNAME_PATTERN } from "./users.js";

export const CPU = { min: 1, max: 512 } as const;
export const MEMORY_MIB = { min: 128, max: 4_194_304 } as const;
export const DISK_GIB = { min: 1, max: 65_536 } as const;
export const BANDWIDTH_MBPS = { min: 1, max: 100_000 } as const;
export const REPLICAS = { min: 0, max: 16 } as const;
export const RETENTION_DAYS = { min: 1, max: 3650 } as const;
export const INSTALLED_SOFTWARE_MAX = 128;
const LABELS_MAX = 32;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const CATEGORY = /^[a-z0-9-]{0,32}$/;
const REGION = /^[a-z0-9][a-z0-9-]{0,31}$/;
const IMAGE = /^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,255}$/;
const DNS_LABEL = "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?";
const HOSTNAME = new RegExp(`^(?=.{1,253}$)${DNS_LABEL}(\\.${DNS_LABEL})*$`);
const DOMAIN = new RegExp(`^(?=.{1,253}$)(\\*\\.)?${DNS_LABEL}(\\.${DNS_LABEL})*$`);
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;
const CRON = /^[0-9*/,-]+( [0-9*/,-]+){4}$/;
const DB_VERSION = /^[0-9]{1,4}(\.[0-9]{1,4}){0,2}$/;
const BACKEND = /^([A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]+\]):([0-9]{1,5})$/;
const SOFTWARE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;
const SOFTWARE_VERSION = /^[A-Za-z0-9][A-Za-z0-9._+~-]{0,63}$/;
const LABEL_KEY = /^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$/;
const LABEL_VALUE = /^[A-Za-z0-9._-]{0,63}$/;
export const LOCK_NAME = /^[A-Za-z0-9._/:-]{1,256}$/;

const isIpAddress = (value: unknown): boolean => typeof value === "string" && isIP(value) !== 0;
const isBackend = (value: unknown): boolean => {
  const match = typeof value === "string" ? BACKEND.exec(value) : null;
  const port = Number(match?.[2] ?? 0);
  return port >= 1 && port <= 65_535;
};

const SIZE_RULES = <T extends ServerSpec | DatabaseSpec>(): Rule<T>[] => [
  {
    path: "cpu",
    allowed: range(CPU.min, CPU.max),
    value: (s) => s.cpu,
    ok: intIn(CPU.min, CPU.max),
  },
  {
    path: "memory_mib",
    allowed: range(MEMORY_MIB.min, MEMORY_MIB.max),
    value: (s) => s.memoryMib,
    ok: intIn(MEMORY_MIB.min, MEMORY_MIB.max),
  },
  {
    path: "disk_gib",
    allowed: range(DISK_GIB.min, DISK_GIB.max),
    value: (s) => s.diskGib,
    ok: intIn(DISK_GIB.min, DISK_GIB.max),
  },
];

const FIELD_RULES: readonly Rule<ResourceFields>[] = [
  {
    path: "name",
    allowed: "1..63 characters of [A-Za-z0-9._-] starting with a letter or digit",
    value: (f) => f.name,
    ok: matches(NAME),
  },
  {
    path: "category",
    allowed: "0..32 characters of [a-z0-9-]",
    value: (f) => f.category,
    ok: matches(CATEGORY),
  },
  {
    path: "region",
    allowed: "1..32 characters of [a-z0-9-]",
    value: (f) => f.region,
    ok: matches(REGION),
  },
  {
    path: "owner",
    allowed: `empty (the caller) or ${USERNAME_ALLOWED}`,
    value: (f) => f.owner,
    ok: (v) => v === "" || matches(USERNAME_PATTERN)(v),
  },
];

const SERVER_RULES: readonly Rule<ServerSpec>[] = [
  {
    path: "image",
    allowed: "1..256 characters of [A-Za-z0-9._/:@-]",
    value: (s) => s.image,
    ok: matches(IMAGE),
  },
  ...SIZE_RULES<ServerSpec>(),
  {
    path: "bandwidth_mbps",
    allowed: range(BANDWIDTH_MBPS.min, BANDWIDTH_MBPS.max),
    value: (s) => s.bandwidthMbps,
    ok: intIn(BANDWIDTH_MBPS.min, BANDWIDTH_MBPS.max),
  },
  {
    path: "hostname",
    allowed: "an RFC 1123 host name (lowercase, at most 253 characters)",
    value: (s) => s.hostname,
    ok: matches(HOSTNAME),
  },
  {
    path: "dns_servers",
    allowed: "at most 8 entries",
    value: (s) => s.dnsServers,
    ok: countAtMost(8),
  },
  {
    path: "dns_servers",
    allowed: "an IPv4 or IPv6 address",
    value: (s) => s.dnsServers,
    ok: isIpAddress,
    each: true,
  },
  {
    path: "ssh_key_fingerprints",
    allowed: "at most 32 entries",
    value: (s) => s.sshKeyFingerprints,
    ok: countAtMost(32),
  },
  {
    path: "ssh_key_fingerprints",
    allowed: 'an OpenSSH fingerprint "SHA256:" + 43 base64 characters',
    value: (s) => s.sshKeyFingerprints,
    ok: matches(FINGERPRINT),
    each: true,
  },
];

const DATABASE_RULES: readonly Rule<DatabaseSpec>[] = [
  {
    path: "engine",
    allowed: `one of ${DATABASE_ENGINES.join("|")}`,
    value: (s) => s.engine,
    ok: oneOf(DATABASE_ENGINES),
  },
  {
    path: "version",
    allowed: "a version like 16, 8.0 or 7.2.4",
    value: (s) => s.version,
    ok: matches(DB_VERSION),
  },
  ...SIZE_RULES<DatabaseSpec>(),
  {
    path: "replicas",
    allowed: range(REPLICAS.min, REPLICAS.max),
    value: (s) => s.replicas,
    ok: intIn(REPLICAS.min, REPLICAS.max),
  },
];

const BACKUP_RULES: readonly Rule<BackupPolicy>[] = [
  {
    path: "schedule",
    allowed: 'a 5-field cron expression like "0 3 * * *"',
    value: (b) => b.schedule,
    ok: matches(CRON),
  },
  {
    path: "retention_days",
    allowed: range(RETENTION_DAYS.min, RETENTION_DAYS.max),
    value: (b) => b.retentionDays,
    ok: intIn(RETENTION_DAYS.min, RETENTION_DAYS.max),
  },
];

const LOAD_BALANCER_RULES: readonly Rule<LoadBalancer>[] = [
  {
    path: "algorithm",
    allowed: `one of ${LOAD_BALANCER_ALGORITHMS.join("|")}`,
    value: (l) => l.algorithm,
    ok: oneOf(LOAD_BALANCER_ALGORITHMS),
  },
  { path: "backends", allowed: "1..64 entries", value: (l) => l.backends, ok: countIn(1, 64) },
  {
    path: "backends",
    allowed: '"host:port" with port 1..65535',
    value: (l) => l.backends,
    ok: isBackend,
    each: true,
  },
];

const SSL_RULES: readonly Rule<SslCertificate>[] = [
  {
    path: "domain",
    allowed: "a DNS name, optionally starting with *.",
    value: (c) => c.domain,
    ok: matches(DOMAIN),
  },
  {
    path: "not_after",
    allowed: "a positive time in ms since the epoch",
    value: (c) => c.notAfterMs,
    ok: intIn(1, Number.MAX_SAFE_INTEGER),
  },
];

const SOFTWARE_RULES: readonly Rule<Omit<InstalledSoftware, "installedAtMs">>[] = [
  {
    path: "name",
    allowed: "1..64 characters of [A-Za-z0-9._+-]",
    value: (s) => s.name,
    ok: matches(SOFTWARE_NAME),
  },
  {
    path: "version",
    allowed: "1..64 characters of [A-Za-z0-9._+~-]",
    value: (s) => s.version,
    ok: matches(SOFTWARE_VERSION),
  },
];

function firstError(...checks: Array<() => string | null>): string | null {
  for (const check of checks) {
    const message = check();
    if (message !== null) return message;
  }
  return null;
}

function optional<T>(value: T | null, prefix: string, rules: readonly Rule<T>[]): string | null {
  return value === null ? null : checkRules(value, prefix, rules);
}

export function validateSpec(
  spec: ServerSpec | DatabaseSpec,
  prefix = "resource.spec.",
): string | null {
  if (typeof spec !== "object" || spec === null) return `${prefix.slice(0, -1)} is required`;
  switch (spec.kind) {
    case "server":
      return firstError(
        () => checkRules(spec, prefix, SERVER_RULES),
        () => optional(spec.backup, `${prefix}backup.`, BACKUP_RULES),
        () => optional(spec.loadBalancer, `${prefix}load_balancer.`, LOAD_BALANCER_RULES),
        () => optional(spec.sslCertificate, `${prefix}ssl_certificate.`, SSL_RULES),
      );
    case "database":
      return firstError(
        () => checkRules(spec, prefix, DATABASE_RULES),
        () => optional(spec.backup, `${prefix}backup.`, BACKUP_RULES),
      );
    default:
      return `${prefix}kind must be one of server|database, got ${show((spec as { kind: unknown }).kind)}`;
  }
}

export function validateLabels(labels: Readonly<Record<string, string>>): string | null {
  return checkMap(labels, "resource.labels", {
    entriesMax: LABELS_MAX,
    key: {
      allowed: "1..63 characters of [a-z0-9._/-], alphanumeric at both ends",
      pattern: LABEL_KEY,
    },
    value: { allowed: "0..63 characters of [A-Za-z0-9._-]", pattern: LABEL_VALUE },
  });
}

export function validateFields(fields: ResourceFields): string | null {
  return firstError(
    () => checkRules(fields, "resource.", FIELD_RULES),
    () => validateLabels(fields.labels),
    () => validateSpec(fields.spec),
  );
}

/** Only the fields an update sets; null fields are left alone. */
export function validatePatch(
  patch: {
    readonly [F in keyof ResourceFields]: ResourceFields[F] | null;
  },
): string | null {
  const rules = FIELD_RULES.filter((rule) => patch[rule.path as keyof ResourceFields] !== null);
  return firstError(
    () => checkRules(patch as ResourceFields, "resource.", rules),
    () => (patch.labels === null ? null : validateLabels(patch.labels)),
    () => (patch.spec === null ? null : validateSpec(patch.spec)),
  );
}

export function validateSoftware(
  software: Omit<InstalledSoftware, "installedAtMs">,
): string | null {
  return checkRules(software, "software.", SOFTWARE_RULES);
}

export function validateFence(fence: Fence | null): string | null {
  if (fence === null) return null;
  if (!intIn(1, Number.MAX_SAFE_INTEGER)(fence.token)) {
    return `fence.token must be a positive integer, got ${show(fence.token)}`;
  }
  if (fence.kind === "lock") {
    return matches(LOCK_NAME)(fence.lock)
      ? null
      : `fence.lock must be 1..256 characters of [A-Za-z0-9._/:-], got ${show(fence.lock)}`;
  }
  return fence.key instanceof Uint8Array && fence.key.byteLength > 0
    ? null
    : "fence.etcd_key must be a non-empty key";
}
