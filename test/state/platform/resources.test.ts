// Resources at apply: create, update with expected version or fence, software
// installs, fences against platform locks and etcd lock keys, stats, and a
// table of every invalid field refused with its path and allowed range.
import { describe, expect, it } from "vitest";
import type { Command } from "../../../src/state/command.js";
import type { ResourceFields } from "../../../src/state/platform/resource-types.js";
import { put } from "../helpers.js";
import {
  acquire,
  cluster,
  command,
  create,
  databaseSpec,
  leaseGrant,
  leaseRevoke,
  lifecycle,
  ok,
  refused,
  release,
  serverSpec,
  update,
} from "./helpers.js";

describe("create", () => {
  it("creates a PROVISIONING resource named by its revision, owned by the caller", () => {
    const { sm, apply } = cluster();
    const before = sm.kv.revision;
    const applied = apply(create("ops"));
    const { resource, revision } = ok(applied, "resource-create");
    expect(revision).toBe(before + 1);
    expect(resource).toMatchObject({
      id: `srv-${revision}`,
      kind: "server",
      status: "PROVISIONING",
      owner: "ops",
      version: 1,
      createRevision: revision,
      modRevision: revision,
    });
    expect(applied.events).toEqual([]);
    expect(applied.platform?.map((e) => e.table)).toEqual(["resource", "oplog"]);
    const record = sm.platform.oplog.get(sm.platform.oplog.lastSequence);
    expect(record).toMatchObject({
      action: "resource.create",
      target: `resource/${resource.id}`,
      actor: "ops",
    });
  });

  it("refuses viewers, anonymous callers and unknown owners", () => {
    const { apply } = cluster();
    expect(refused(apply(create("vic")), "permission-denied")).toBe(
      "user vic (viewer) may not resource.write",
    );
    expect(refused(apply(create("")), "permission-denied")).toBe(
      "resource.write needs a signed-in user",
    );
    expect(refused(apply(create("ops", { owner: "ghost" })), "invalid-argument")).toBe(
      'resource.owner must name an existing user, got "ghost"',
    );
  });
});

describe("update", () => {
  it("needs an expected version or a fence and names both versions on conflict", () => {
    const { apply } = cluster();
    const { resource } = ok(apply(create("ops")), "resource-create");
    expect(refused(apply(update("ops", resource.id, { name: "web-2" })), "invalid-argument")).toBe(
      "resource update needs expected_version or fence, got neither",
    );
    const v2 = ok(
      apply(update("ops", resource.id, { name: "web-2" }, { expectedVersion: 1 })),
      "resource-update",
    );
    expect(v2.resource).toMatchObject({
      name: "web-2",
      version: 2,
      createRevision: resource.createRevision,
    });
    expect(
      refused(
        apply(update("ops", resource.id, { name: "web-3" }, { expectedVersion: 1 })),
        "aborted",
      ),
    ).toBe(`resource ${resource.id} is at version 2, request expected version 1`);
  });

  it("replaces the spec whole but never changes the kind", () => {
    const { apply } = cluster();
    const { resource } = ok(apply(create("ops")), "resource-create");
    const bigger = serverSpec({ cpu: 16 });
    const v2 = ok(
      apply(update("ops", resource.id, { spec: bigger }, { expectedVersion: 1 })),
      "resource-update",
    );
    expect(v2.resource.spec).toEqual(bigger);
    expect(
      refused(
        apply(update("ops", resource.id, { spec: databaseSpec() }, { expectedVersion: 2 })),
        "invalid-argument",
      ),
    ).toBe(`resource.spec must be a server spec for ${resource.id}, got database`);
  });

  it("records a before/after summary of what changed", () => {
    const { sm, apply } = cluster();
    const { resource } = ok(apply(create("ops")), "resource-create");
    apply(
      update(
        "ops",
        resource.id,
        { region: "us-east-1", labels: { env: "dev" } },
        { expectedVersion: 1 },
      ),
    );
    const record = sm.platform.oplog.get(sm.platform.oplog.lastSequence);
    expect(record?.before).toEqual({
      version: "1",
      region: "eu-west-1",
      labels: "env=prod,tier=web",
    });
    expect(record?.after).toEqual({ version: "2", region: "us-east-1", labels: "env=dev" });
  });

  it("refuses unknown and DELETED resources", () => {
    const { apply } = cluster();
    expect(
      refused(apply(update("ops", "srv-999", { name: "x" }, { expectedVersion: 1 })), "not-found"),
    ).toBe('resource "srv-999" not found');
    const { resource } = ok(apply(create("ops")), "resource-create");
    apply(lifecycle("ops", resource.id, "fail"));
    apply(lifecycle("ops", resource.id, "delete"));
    expect(
      refused(
        apply(update("ops", resource.id, { name: "x" }, { expectedVersion: 3 })),
        "failed-precondition",
      ),
    ).toBe(`cannot update resource ${resource.id}: it is DELETED`);
  });
});

describe("fences", () => {
  it("accepts the holder's token and refuses it once the lock passed on", () => {
    const { apply } = cluster();
    const { resource } = ok(apply(create("ops")), "resource-create");
    apply(leaseGrant(1));
    apply(leaseGrant(2));
    const first = ok(apply(acquire("ops", "deploy", 1)), "lock-acquire");
    ok(apply(acquire("ops", "deploy", 2)), "lock-acquire");
    const fence = { kind: "lock", lock: "deploy", token: first.token } as const;
    ok(apply(update("ops", resource.id, { name: "fenced" }, { fence })), "resource-update");
    const second = ok(apply(release("ops", "deploy", 1)), "lock-release").holder;
    expect(refused(apply(update("ops", resource.id, { name: "late" }, { fence })), "aborted")).toBe(
      `fence token ${first.token} for lock "deploy" is stale: the holder's token is ${second?.token}`,
    );
    apply(leaseRevoke(2));
    expect(refused(apply(lifecycle("ops", resource.id, "start", fence)), "aborted")).toBe(
      `fence token ${first.token} for lock "deploy" is stale: the lock is not held`,
    );
  });

  it("checks both the version and the fence when both are given", () => {
    const { apply } = cluster();
    const { resource } = ok(apply(create("ops")), "resource-create");
    apply(leaseGrant(1));
    const held = ok(apply(acquire("ops", "deploy", 1)), "lock-acquire");
    const fence = { kind: "lock", lock: "deploy", token: held.token } as const;
    expect(
      refused(
        apply(update("ops", resource.id, { name: "x" }, { fence, expectedVersion: 9 })),
        "aborted",
      ),
    ).toContain("request expected version 9");
  });

  it("accepts an etcd lock key whose create revision is the token", () => {
    const { sm, apply } = cluster();
    const { resource } = ok(apply(create("ops")), "resource-create");
    apply(put("locks/deploy/694d", "") as Command);
    const createRevision = sm.kv.revision;
    const key = Buffer.from("locks/deploy/694d", "latin1");
    const fence = { kind: "etcd-key", key, token: createRevision } as const;
    ok(apply(update("ops", resource.id, { name: "fenced" }, { fence })), "resource-update");
    const stale = { ...fence, token: createRevision - 1 };
    expect(
      refused(apply(update("ops", resource.id, { name: "x" }, { fence: stale })), "aborted"),
    ).toBe(
      `fence token ${createRevision - 1} for etcd lock key "locks/deploy/694d" is stale: the key's create revision is ${createRevision}`,
    );
  });
});

describe("software", () => {
  it("installs on RUNNING resources only, replacing a package of the same name", () => {
    const { apply } = cluster();
    const { resource } = ok(apply(create("ops")), "resource-create");
    const install = (version: string) =>
      command("resource-install", "ops", {
        resourceId: resource.id,
        software: { name: "nginx", version },
        fence: null,
      });
    expect(refused(apply(install("1.25")), "failed-precondition")).toBe(
      `cannot install software on resource ${resource.id}: it is PROVISIONING; install needs RUNNING`,
    );
    apply(lifecycle("ops", resource.id, "start"));
    ok(apply(install("1.25")), "resource-install");
    const done = ok(apply(install("1.27")), "resource-install");
    expect(done.resource.installedSoftware.map((s) => `${s.name}@${s.version}`)).toEqual([
      "nginx@1.27",
    ]);
    expect(done.resource.version).toBe(4);
  });
});

describe("stats", () => {
  it("counts by kind, status, region and owner and sums sizes of live resources", () => {
    const { sm, apply } = cluster();
    apply(create("ops"));
    apply(create("root", { region: "us-east-1", spec: databaseSpec() }));
    const gone = ok(apply(create("ops", { region: "us-east-1" })), "resource-create").resource;
    apply(lifecycle("ops", gone.id, "fail"));
    apply(lifecycle("ops", gone.id, "delete"));
    const filter = {
      kind: "",
      status: "",
      region: "",
      owner: "",
      category: "",
      labelSelector: "",
      nameContains: "",
    } as const;
    const stats = sm.platform.stats(filter);
    expect(stats).toMatchObject({
      total: 3,
      byKind: { database: 1, server: 2 },
      byStatus: { DELETED: 1, PROVISIONING: 2 },
      byRegion: { "eu-west-1": 1, "us-east-1": 2 },
      byOwner: { ops: 2, root: 1 },
      cpuTotal: 4 + 2,
      memoryMibTotal: 8192 + 4096,
      diskGibTotal: 100 + 50,
    });
  });
});

/** Every validated field: [what, fields override, exact message]. */
const BAD_INPUT: Array<[string, Partial<ResourceFields>, string]> = [
  [
    "name",
    { name: "" },
    'resource.name must be 1..63 characters of [A-Za-z0-9._-] starting with a letter or digit, got ""',
  ],
  [
    "category",
    { category: "Web Tier" },
    'resource.category must be 0..32 characters of [a-z0-9-], got "Web Tier"',
  ],
  ["region", { region: "EU" }, 'resource.region must be 1..32 characters of [a-z0-9-], got "EU"'],
  [
    "owner",
    { owner: "X" },
    'resource.owner must be empty (the caller) or 3..32 characters of [a-z0-9._-], got "X"',
  ],
  [
    "label key",
    { labels: { "-bad": "x" } },
    'resource.labels key must be 1..63 characters of [a-z0-9._/-], alphanumeric at both ends, got "-bad"',
  ],
  [
    "label value",
    { labels: { env: "a b" } },
    'resource.labels["env"] must be 0..63 characters of [A-Za-z0-9._-], got "a b"',
  ],
  [
    "labels count",
    { labels: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, "v"])) },
    "resource.labels must be at most 32 entries, got 33",
  ],
  [
    "image",
    { spec: serverSpec({ image: "" }) },
    'resource.spec.image must be 1..256 characters of [A-Za-z0-9._/:@-], got ""',
  ],
  ["cpu low", { spec: serverSpec({ cpu: 0 }) }, "resource.spec.cpu must be 1..512, got 0"],
  ["cpu high", { spec: serverSpec({ cpu: 513 }) }, "resource.spec.cpu must be 1..512, got 513"],
  ["cpu fraction", { spec: serverSpec({ cpu: 1.5 }) }, "resource.spec.cpu must be 1..512, got 1.5"],
  [
    "memory",
    { spec: serverSpec({ memoryMib: 64 }) },
    "resource.spec.memory_mib must be 128..4194304, got 64",
  ],
  [
    "disk",
    { spec: serverSpec({ diskGib: 70_000 }) },
    "resource.spec.disk_gib must be 1..65536, got 70000",
  ],
  [
    "bandwidth",
    { spec: serverSpec({ bandwidthMbps: 0 }) },
    "resource.spec.bandwidth_mbps must be 1..100000, got 0",
  ],
  [
    "hostname",
    { spec: serverSpec({ hostname: "Web_1" }) },
    'resource.spec.hostname must be an RFC 1123 host name (lowercase, at most 253 characters), got "Web_1"',
  ],
  [
    "dns count",
    { spec: serverSpec({ dnsServers: Array(9).fill("1.1.1.1") }) },
    "resource.spec.dns_servers must be at most 8 entries, got 9 entries",
  ],
  [
    "dns address",
    { spec: serverSpec({ dnsServers: ["1.1.1.1", "1.1.1"] }) },
    'resource.spec.dns_servers[1] must be an IPv4 or IPv6 address, got "1.1.1"',
  ],
  [
    "ssh count",
    { spec: serverSpec({ sshKeyFingerprints: Array(33).fill(`SHA256:${"A".repeat(43)}`) }) },
    "resource.spec.ssh_key_fingerprints must be at most 32 entries, got 33 entries",
  ],
  [
    "ssh format",
    { spec: serverSpec({ sshKeyFingerprints: ["MD5:aa:bb"] }) },
    'resource.spec.ssh_key_fingerprints[0] must be an OpenSSH fingerprint "SHA256:" + 43 base64 characters, got "MD5:aa:bb"',
  ],
  [
    "backup schedule",
    { spec: serverSpec({ backup: { schedule: "daily", retentionDays: 7 } }) },
    'resource.spec.backup.schedule must be a 5-field cron expression like "0 3 * * *", got "daily"',
  ],
  [
    "backup retention",
    { spec: serverSpec({ backup: { schedule: "0 3 * * *", retentionDays: 0 } }) },
    "resource.spec.backup.retention_days must be 1..3650, got 0",
  ],
  [
    "lb algorithm",
    {
      spec: serverSpec({ loadBalancer: { algorithm: "random" as "weighted", backends: ["a:1"] } }),
    },
    'resource.spec.load_balancer.algorithm must be one of round_robin|weighted|least_connections|ip_hash|url_hash, got "random"',
  ],
  [
    "lb backends count",
    { spec: serverSpec({ loadBalancer: { algorithm: "ip_hash", backends: [] } }) },
    "resource.spec.load_balancer.backends must be 1..64 entries, got 0 entries",
  ],
  [
    "lb backend port",
    { spec: serverSpec({ loadBalancer: { algorithm: "url_hash", backends: ["10.0.0.1:0"] } }) },
    'resource.spec.load_balancer.backends[0] must be "host:port" with port 1..65535, got "10.0.0.1:0"',
  ],
  [
    "ssl domain",
    { spec: serverSpec({ sslCertificate: { domain: "bad domain", notAfterMs: 1 } }) },
    'resource.spec.ssl_certificate.domain must be a DNS name, optionally starting with *., got "bad domain"',
  ],
  [
    "ssl not_after",
    { spec: serverSpec({ sslCertificate: { domain: "a.example", notAfterMs: 0 } }) },
    "resource.spec.ssl_certificate.not_after must be a positive time in ms since the epoch, got 0",
  ],
  [
    "db engine",
    { spec: databaseSpec({ engine: "oracle" as "mysql" }) },
    'resource.spec.engine must be one of mysql|postgresql|redis|mongodb, got "oracle"',
  ],
  [
    "db version",
    { spec: databaseSpec({ version: "latest" }) },
    'resource.spec.version must be a version like 16, 8.0 or 7.2.4, got "latest"',
  ],
  ["db cpu", { spec: databaseSpec({ cpu: 0 }) }, "resource.spec.cpu must be 1..512, got 0"],
  [
    "db memory",
    { spec: databaseSpec({ memoryMib: 5_000_000 }) },
    "resource.spec.memory_mib must be 128..4194304, got 5000000",
  ],
  [
    "db disk",
    { spec: databaseSpec({ diskGib: 0 }) },
    "resource.spec.disk_gib must be 1..65536, got 0",
  ],
  [
    "db replicas",
    { spec: databaseSpec({ replicas: 17 }) },
    "resource.spec.replicas must be 0..16, got 17",
  ],
  [
    "db backup",
    { spec: databaseSpec({ backup: { schedule: "0 3 * *", retentionDays: 1 } }) },
    'resource.spec.backup.schedule must be a 5-field cron expression like "0 3 * * *", got "0 3 * *"',
  ],
];

describe("bad input", () => {
  it.each(BAD_INPUT)(
    "create refuses a bad %s, naming the field and the allowed range",
    (_, change, message) => {
      const { sm, apply } = cluster();
      const revision = sm.kv.revision;
      const applied = apply(create("ops", change));
      expect(refused(applied, "invalid-argument")).toBe(message);
      expect(sm.kv.revision).toBe(revision);
      expect(sm.platform.resources.size).toBe(0);
      // Only the op-log record of the refusal is written.
      expect(new Set(applied.writes.map((w) => w.table))).toEqual(
        new Set(["oplog", "platform-meta"]),
      );
    },
  );

  it.each(BAD_INPUT.filter(([what]) => !what.startsWith("db")))(
    "update refuses a bad %s too",
    (_, change, message) => {
      const { apply } = cluster();
      const { resource } = ok(apply(create("ops")), "resource-create");
      expect(
        refused(
          apply(update("ops", resource.id, change, { expectedVersion: 1 })),
          "invalid-argument",
        ),
      ).toBe(message);
    },
  );

  it.each([
    [
      "software name",
      { name: "", version: "1" },
      'software.name must be 1..64 characters of [A-Za-z0-9._+-], got ""',
    ],
    [
      "software version",
      { name: "nginx", version: "1 2" },
      'software.version must be 1..64 characters of [A-Za-z0-9._+~-], got "1 2"',
    ],
  ])("install refuses a bad %s", (_, software, message) => {
    const { apply } = cluster();
    const { resource } = ok(apply(create("ops")), "resource-create");
    const applied = apply(
      command("resource-install", "ops", { resourceId: resource.id, software, fence: null }),
    );
    expect(refused(applied, "invalid-argument")).toBe(message);
  });

  it("refuses a malformed fence", () => {
    const { apply } = cluster();
    const { resource } = ok(apply(create("ops")), "resource-create");
    const fence = { kind: "lock", lock: "deploy", token: 0 } as const;
    expect(
      refused(apply(update("ops", resource.id, { name: "x" }, { fence })), "invalid-argument"),
    ).toBe("fence.token must be a positive integer, got 0");
  });
});
