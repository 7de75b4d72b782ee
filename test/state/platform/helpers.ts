// Builders for platform commands with valid defaults, a cluster-of-one fixture
// with an admin, an operator and a viewer, result inspectors, and a canonical
// dump of every platform table for determinism and reload checks.
import { expect } from "vitest";
import type { Applied } from "../../../src/state/apply-result.js";
import type { Command } from "../../../src/state/command.js";
import type { Role } from "../../../src/state/platform/authorize.js";
import type {
  Fence,
  PlatformCommand,
  ResourceUpdateCommand,
} from "../../../src/state/platform/commands.js";
import type { PlatformErrorCode } from "../../../src/state/platform/errors.js";
import type { LifecycleAction } from "../../../src/state/platform/lifecycle.js";
import type {
  DatabaseSpec,
  ResourceFields,
  ServerSpec,
} from "../../../src/state/platform/resource-types.js";
import type { PlatformResult } from "../../../src/state/platform/results.js";
import { tokenDigest } from "../../../src/state/platform/sessions.js";
import { StateMachine } from "../../../src/state/state-machine.js";
import { TableStore } from "../helpers.js";

let nextId = 1;
/** The proposer's clock of the next command; tests move it with `clock.at = …`. */
export const clock = { at: 1_700_000_000_000 };

type Body<K extends PlatformCommand["kind"]> = Omit<
  Extract<PlatformCommand, { kind: K }>,
  "v" | "id" | "at" | "kind" | "actor"
>;

export function command<K extends PlatformCommand["kind"]>(
  kind: K,
  actor: string,
  body: Body<K>,
  at = clock.at,
): Extract<PlatformCommand, { kind: K }> {
  return { v: 1, id: nextId++, at, kind, actor, ...body } as Extract<PlatformCommand, { kind: K }>;
}

export const password = (seed = 1) => ({
  salt: new Uint8Array(16).fill(seed),
  hash: new Uint8Array(64).fill(seed + 1),
});

export function register(username: string, actor = "", roles: Role[] = []) {
  return command("user-register", actor, {
    username,
    email: `${username}@example.com`,
    phone: "+14155550100",
    roles,
    password: password(),
  });
}

export function serverSpec(overrides: Partial<ServerSpec> = {}): ServerSpec {
  return {
    kind: "server",
    image: "ubuntu:24.04",
    cpu: 4,
    memoryMib: 8192,
    diskGib: 100,
    bandwidthMbps: 1000,
    hostname: "web-1.example.com",
    dnsServers: ["1.1.1.1", "2606:4700:4700::1111"],
    sshKeyFingerprints: [`SHA256:${"A".repeat(43)}`],
    backup: { schedule: "0 3 * * *", retentionDays: 14 },
    loadBalancer: { algorithm: "round_robin", backends: ["10.0.0.1:80", "10.0.0.2:80"] },
    sslCertificate: { domain: "*.example.com", notAfterMs: 1_800_000_000_000 },
    ...overrides,
  };
}

export function databaseSpec(overrides: Partial<DatabaseSpec> = {}): DatabaseSpec {
  return {
    kind: "database",
    engine: "postgresql",
    version: "16.2",
    cpu: 2,
    memoryMib: 4096,
    diskGib: 50,
    replicas: 1,
    backup: null,
    ...overrides,
  };
}

export function fields(overrides: Partial<ResourceFields> = {}): ResourceFields {
  return {
    name: "web-1",
    category: "frontend",
    labels: { env: "prod", tier: "web" },
    region: "eu-west-1",
    owner: "",
    spec: serverSpec(),
    ...overrides,
  };
}

export const create = (actor: string, f: Partial<ResourceFields> = {}) =>
  command("resource-create", actor, { fields: fields(f) });

const NO_PATCH: ResourceUpdateCommand["patch"] = {
  name: null,
  category: null,
  labels: null,
  region: null,
  owner: null,
  spec: null,
};

export function update(
  actor: string,
  resourceId: string,
  patch: Partial<ResourceUpdateCommand["patch"]>,
  check: { expectedVersion?: number; fence?: Fence | null } = {},
) {
  return command("resource-update", actor, {
    resourceId,
    expectedVersion: check.expectedVersion ?? 0,
    fence: check.fence ?? null,
    patch: { ...NO_PATCH, ...patch },
  });
}

export const lifecycle = (
  actor: string,
  resourceId: string,
  action: LifecycleAction,
  fence: Fence | null = null,
) =>
  command("resource-lifecycle", actor, {
    resourceId,
    action,
    reason: action === "fail" ? "disk failed" : "",
    fence,
  });

export const acquire = (
  actor: string,
  name: string,
  leaseId: number,
  wait = true,
  ttlSeconds = 0,
) => command("lock-acquire", actor, { name, leaseId, ttlSeconds, wait });

export const release = (actor: string, name: string, leaseId: number, token = 0) =>
  command("lock-release", actor, { name, leaseId, token });

export function join(actor: string, group: string, memberId: string, leaseId: number, weight = 1) {
  return command("member-join", actor, {
    group,
    memberId,
    address: `${memberId}.internal:7000`,
    weight,
    metadata: { zone: "a" },
    leaseId,
    ttlSeconds: 0,
  });
}

export const leaseGrant = (leaseId: number, ttlSeconds = 60): Command => ({
  v: 1,
  id: nextId++,
  at: clock.at,
  kind: "lease-grant",
  leaseId,
  ttlSeconds,
});

export const leaseRevoke = (leaseId: number): Command => ({
  v: 1,
  id: nextId++,
  at: clock.at,
  kind: "lease-revoke",
  leaseId,
});

export const token = (n: number) => tokenDigest(`token-${n}`);

type Success = Exclude<PlatformResult, { kind: "platform-error" }>;
type OkByKind = { [R in Success as R["kind"]]: R["ok"] };

export function ok<K extends keyof OkByKind>(applied: Applied, kind: K): OkByKind[K] {
  if (applied.result.kind === "platform-error") {
    throw new Error(`expected ${kind}, got ${applied.result.code}: ${applied.result.message}`);
  }
  expect(applied.result.kind).toBe(kind);
  return (applied.result as Success).ok as unknown as OkByKind[K];
}

export function refused(applied: Applied, code: PlatformErrorCode): string {
  const result = applied.result;
  if (result.kind !== "platform-error") throw new Error(`expected ${code}, got ${result.kind}`);
  expect(result.code).toBe(code);
  return result.message;
}

/** A state machine with root (admin, first user), ops (operator) and vic (viewer). */
export function cluster() {
  const sm = new StateMachine();
  const store = new TableStore();
  const applied: Applied[] = [];
  const apply = (cmd: Command): Applied => {
    const result = sm.apply(cmd);
    store.apply(result.writes);
    applied.push(result);
    return result;
  };
  apply(register("root"));
  apply(register("ops", "root", ["operator"]));
  apply(register("vic"));
  return { sm, store, apply, applied };
}

/** Everything observable in the platform tables, canonical, for equality between members. */
export function dumpPlatform(sm: StateMachine) {
  const p = sm.platform;
  const resources = [...p.resources.all()].sort((a, b) => (a.id < b.id ? -1 : 1));
  const users = p.users.list("", 10_000);
  const sessions = users.flatMap((u) => p.sessions.ofUser(u.username));
  const groups = p.membership.groupNames().map((g) => p.membership.members(g));
  const oplog = p.oplog.query({
    target: "",
    actor: "",
    action: "",
    fromMs: 0,
    toMs: 0,
    cursor: 0,
    order: "asc",
    limit: 500,
  });
  return {
    revision: sm.kv.revision,
    users,
    sessions,
    resources,
    historyFloor: p.resources.historyFloor,
    historySize: p.resources.historySize,
    locks: p.locks.list(),
    groups,
    oplog: oplog.records,
    oplogBounds: [p.oplog.firstSequence, p.oplog.lastSequence],
    retention: p.oplog.retention,
    leases: sm.leases.leases().map((id) => sm.leases.get(id)),
  };
}
