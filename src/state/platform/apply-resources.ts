// Apply steps for resources: create (PROVISIONING, id from the revision),
// update (expected version and/or fence; the spec is replaced whole and keeps
// its kind), lifecycle actions through lifecycle.ts, and software installs.
// Fences are checked at apply, against the lock holder's current token (or
// the etcd lock key's create revision), so a paused ex-holder cannot write.
import { keyString } from "../key-range.js";
import type {
  Fence,
  ResourceCreateCommand,
  ResourceInstallCommand,
  ResourceLifecycleCommand,
  ResourceUpdateCommand,
} from "./commands.js";
import { type Decision, done, type PlatformTables, requireActor } from "./context.js";
import {
  aborted,
  failedPrecondition,
  invalidArgument,
  isPlatformError,
  notFound,
  type PlatformError,
} from "./errors.js";
import { isLifecycleAction, transition } from "./lifecycle.js";
import type { Summary } from "./oplog.js";
import type { PlatformTxn } from "./platform-txn.js";
import {
  idPrefix,
  type Resource,
  type ResourceSpec,
  sortedLabels,
  specSummary,
} from "./resource-types.js";
import {
  INSTALLED_SOFTWARE_MAX,
  validateFence,
  validateFields,
  validatePatch,
  validateSoftware,
} from "./resource-validate.js";

const REASON_CHARS_MAX = 1024;

/** A clean copy holding only the spec's known fields, in a fixed order. */
function canonicalSpec(spec: ResourceSpec): ResourceSpec {
  const size = { cpu: spec.cpu, memoryMib: spec.memoryMib, diskGib: spec.diskGib };
  const backup =
    spec.backup === null
      ? null
      : { schedule: spec.backup.schedule, retentionDays: spec.backup.retentionDays };
  if (spec.kind === "database") {
    return {
      kind: "database",
      engine: spec.engine,
      version: spec.version,
      ...size,
      replicas: spec.replicas,
      backup,
    };
  }
  const lb = spec.loadBalancer;
  const ssl = spec.sslCertificate;
  return {
    kind: "server",
    image: spec.image,
    ...size,
    bandwidthMbps: spec.bandwidthMbps,
    hostname: spec.hostname,
    dnsServers: [...spec.dnsServers],
    sshKeyFingerprints: [...spec.sshKeyFingerprints],
    backup,
    loadBalancer: lb === null ? null : { algorithm: lb.algorithm, backends: [...lb.backends] },
    sslCertificate: ssl === null ? null : { domain: ssl.domain, notAfterMs: ssl.notAfterMs },
  };
}

export function summarize(resource: Resource): Summary {
  return {
    name: resource.name,
    status: resource.status,
    version: String(resource.version),
    region: resource.region,
    owner: resource.owner,
    category: resource.category,
    labels: Object.entries(resource.labels)
      .map(([key, value]) => `${key}=${value}`)
      .join(","),
    spec: specSummary(resource.spec),
    software: resource.installedSoftware.map((s) => `${s.name}@${s.version}`).join(","),
  };
}

/** Before/after summaries of the fields that changed (the version always). */
function diff(before: Resource, after: Resource): { before: Summary; after: Summary } {
  const was = summarize(before);
  const now = summarize(after);
  const keys = Object.keys(now).filter((key) => key === "version" || was[key] !== now[key]);
  return {
    before: Object.fromEntries(keys.map((key) => [key, was[key] as string])),
    after: Object.fromEntries(keys.map((key) => [key, now[key] as string])),
  };
}

export function checkFence(tables: PlatformTables, fence: Fence | null): PlatformError | null {
  if (fence === null) return null;
  if (fence.kind === "lock") {
    const lock = tables.locks.get(fence.lock);
    if (lock === undefined) {
      return aborted(
        `fence token ${fence.token} for lock ${JSON.stringify(fence.lock)} is stale: the lock is not held`,
      );
    }
    if (lock.holder.token !== fence.token) {
      return aborted(
        `fence token ${fence.token} for lock ${JSON.stringify(fence.lock)} is stale: the holder's token is ${lock.holder.token}`,
      );
    }
    return null;
  }
  const key = keyString(fence.key);
  const kv = tables.kv.get(key);
  if (kv === undefined) {
    return aborted(
      `fence token ${fence.token} for etcd lock key ${JSON.stringify(key)} is stale: the key does not exist`,
    );
  }
  if (kv.createRevision !== fence.token) {
    return aborted(
      `fence token ${fence.token} for etcd lock key ${JSON.stringify(key)} is stale: the key's create revision is ${kv.createRevision}`,
    );
  }
  return null;
}

function resolveOwner(
  tables: PlatformTables,
  owner: string,
  actor: string,
): string | PlatformError {
  const resolved = owner === "" ? actor : owner;
  return tables.users.get(resolved) === undefined
    ? invalidArgument(`resource.owner must name an existing user, got ${JSON.stringify(resolved)}`)
    : resolved;
}

function store(tables: PlatformTables, txn: PlatformTxn, next: Resource, atMs: number): void {
  const prev = tables.resources.get(next.id) ?? null;
  const writes = tables.resources.put(next, atMs);
  txn.change(writes, { table: "resource", revision: txn.revision, resource: next, prev });
}

/** The existing, not DELETED resource a change names, after the fence check. */
function changeable(
  tables: PlatformTables,
  resourceId: string,
  fence: Fence | null,
): Resource | PlatformError {
  const resource = tables.resources.get(resourceId);
  if (resource === undefined) return notFound(`resource ${JSON.stringify(resourceId)} not found`);
  return checkFence(tables, fence) ?? resource;
}

export function applyResourceCreate(
  tables: PlatformTables,
  command: ResourceCreateCommand,
  txn: PlatformTxn,
): Decision {
  const actor = requireActor(tables, command.actor, "resource.write");
  if (isPlatformError(actor)) return actor;
  const invalid = validateFields(command.fields);
  if (invalid !== null) return invalidArgument(invalid);
  const owner = resolveOwner(tables, command.fields.owner, command.actor);
  if (isPlatformError(owner)) return owner;
  const { fields } = command;
  const resource: Resource = {
    id: `${idPrefix(fields.spec.kind)}-${txn.revision}`,
    kind: fields.spec.kind,
    name: fields.name,
    category: fields.category,
    labels: sortedLabels(fields.labels),
    region: fields.region,
    owner,
    status: "PROVISIONING",
    statusMessage: "",
    installedSoftware: [],
    spec: canonicalSpec(fields.spec),
    createdAtMs: command.at,
    updatedAtMs: command.at,
    version: 1,
    createRevision: txn.revision,
    modRevision: txn.revision,
  };
  store(tables, txn, resource, command.at);
  const ok = { revision: txn.revision, resource };
  return {
    ...done({ kind: "resource-create", ok }, {}, summarize(resource)),
    target: `resource/${resource.id}`,
  };
}

function validateUpdate(command: ResourceUpdateCommand): string | null {
  if (!(Number.isSafeInteger(command.expectedVersion) && command.expectedVersion >= 0)) {
    return `resource.expected_version must be 0 (none) or a version, got ${command.expectedVersion}`;
  }
  if (command.expectedVersion === 0 && command.fence === null) {
    return "resource update needs expected_version or fence, got neither";
  }
  if (Object.values(command.patch).every((value) => value === null)) {
    return "resource update must set at least one of name, category, labels, region, owner, spec";
  }
  return validateFence(command.fence) ?? validatePatch(command.patch);
}

export function applyResourceUpdate(
  tables: PlatformTables,
  command: ResourceUpdateCommand,
  txn: PlatformTxn,
): Decision {
  const actor = requireActor(tables, command.actor, "resource.write");
  if (isPlatformError(actor)) return actor;
  const invalid = validateUpdate(command);
  if (invalid !== null) return invalidArgument(invalid);
  const current = changeable(tables, command.resourceId, command.fence);
  if (isPlatformError(current)) return current;
  if (current.status === "DELETED")
    return failedPrecondition(`cannot update resource ${current.id}: it is DELETED`);
  if (command.expectedVersion !== 0 && command.expectedVersion !== current.version) {
    return aborted(
      `resource ${current.id} is at version ${current.version}, request expected version ${command.expectedVersion}`,
    );
  }
  const { patch } = command;
  if (patch.spec !== null && patch.spec.kind !== current.kind) {
    return invalidArgument(
      `resource.spec must be a ${current.kind} spec for ${current.id}, got ${patch.spec.kind}`,
    );
  }
  const owner =
    patch.owner === null ? current.owner : resolveOwner(tables, patch.owner, command.actor);
  if (isPlatformError(owner)) return owner;
  const next: Resource = {
    ...current,
    name: patch.name ?? current.name,
    category: patch.category ?? current.category,
    labels: patch.labels === null ? current.labels : sortedLabels(patch.labels),
    region: patch.region ?? current.region,
    owner,
    spec: patch.spec === null ? current.spec : canonicalSpec(patch.spec),
    updatedAtMs: command.at,
    version: current.version + 1,
    modRevision: txn.revision,
  };
  store(tables, txn, next, command.at);
  const change = diff(current, next);
  return done(
    { kind: "resource-update", ok: { revision: txn.revision, resource: next } },
    change.before,
    change.after,
  );
}

export function applyResourceLifecycle(
  tables: PlatformTables,
  command: ResourceLifecycleCommand,
  txn: PlatformTxn,
): Decision {
  const actor = requireActor(tables, command.actor, "resource.write");
  if (isPlatformError(actor)) return actor;
  if (!isLifecycleAction(command.action)) {
    return invalidArgument(
      `action must be one of start|stop|restart|delete|fail, got ${JSON.stringify(command.action)}`,
    );
  }
  if (typeof command.reason !== "string" || command.reason.length > REASON_CHARS_MAX) {
    return invalidArgument(`reason must be at most ${REASON_CHARS_MAX} characters`);
  }
  const invalidFence = validateFence(command.fence);
  if (invalidFence !== null) return invalidArgument(invalidFence);
  const current = changeable(tables, command.resourceId, command.fence);
  if (isPlatformError(current)) return current;
  const step = transition(current.id, current.status, command.action);
  if (!step.ok) return failedPrecondition(step.message);
  const next: Resource = {
    ...current,
    status: step.to,
    statusMessage: command.action === "fail" ? command.reason : "",
    updatedAtMs: command.at,
    version: current.version + 1,
    modRevision: txn.revision,
  };
  store(tables, txn, next, command.at);
  const change = diff(current, next);
  return done(
    { kind: "resource-lifecycle", ok: { revision: txn.revision, resource: next } },
    change.before,
    change.after,
  );
}

export function applyResourceInstall(
  tables: PlatformTables,
  command: ResourceInstallCommand,
  txn: PlatformTxn,
): Decision {
  const actor = requireActor(tables, command.actor, "resource.write");
  if (isPlatformError(actor)) return actor;
  const invalid = validateSoftware(command.software) ?? validateFence(command.fence);
  if (invalid !== null) return invalidArgument(invalid);
  const current = changeable(tables, command.resourceId, command.fence);
  if (isPlatformError(current)) return current;
  if (current.status !== "RUNNING") {
    return failedPrecondition(
      `cannot install software on resource ${current.id}: it is ${current.status}; install needs RUNNING`,
    );
  }
  const { name, version } = command.software;
  const others = current.installedSoftware.filter((s) => s.name !== name);
  if (others.length >= INSTALLED_SOFTWARE_MAX) {
    return failedPrecondition(
      `resource ${current.id} already has ${INSTALLED_SOFTWARE_MAX} packages installed (the maximum)`,
    );
  }
  const installedSoftware = [...others, { name, version, installedAtMs: command.at }].sort(
    (a, b) => (a.name < b.name ? -1 : 1),
  );
  const next: Resource = {
    ...current,
    installedSoftware,
    updatedAtMs: command.at,
    version: current.version + 1,
    modRevision: txn.revision,
  };
  store(tables, txn, next, command.at);
  const change = diff(current, next);
  return done(
    { kind: "resource-install", ok: { revision: txn.revision, resource: next } },
    change.before,
    change.after,
  );
}
