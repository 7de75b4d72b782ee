// Disaster recovery end to end: a 3-member cluster with keys (several
// revisions, a delete, leased keys) and platform data (users, sessions,
// resources, op log) is saved with `cairn snapshot save` (and with
// `etcdctl snapshot save` when installed), then stopped for good. Three fresh
// data dirs are restored from the file under new names, ports and token, and
// the new cluster must serve the same keyspace at every revision, the same
// platform data, the leases (refreshed: a lease whose old expiry passed while
// the cluster was down is still alive), its own members, and new writes; a
// damaged file and an occupied data dir are refused with clear errors.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ETCD_INSTALL_COMMAND, etcdctlBinary } from "../../cluster/etcd-cluster.js";
import { Cairn } from "../../src/client/client.js";
import { KV_RANGE } from "../../src/client/methods.js";
import { callUnary, openChannel, unaryMethod } from "../../src/client/rpc.js";
import type { OpLogRecord, Resource, User } from "../../src/client/types.js";
import { etcdserverpb } from "../../src/gen/etcd.js";
import { decodeSnapshot } from "../../src/storage/snapshot-file.js";
import { CliRunner } from "./cli-run.js";
import { Etcdctl } from "./etcdctl-process.js";
import { sleep, TestCluster } from "./harness.js";

const PASSWORD = "correct horse battery";
const SERVER = {
  image: "ubuntu:24.04",
  cpu: 2,
  memoryMib: 2048,
  diskGib: 20,
  bandwidthMbps: 100,
  hostname: "web.example.com",
};
const NEW_TOKEN = "restored-cluster";
const NEW_NAMES = ["r1", "r2", "r3"];
/** Short enough to lapse while the cluster is down, long enough to check after the restore. */
const SHORT_TTL_S = 10;

const HASH_KV = unaryMethod(
  "/etcdserverpb.Maintenance/HashKV",
  etcdserverpb.HashKVRequest,
  etcdserverpb.HashKVResponse,
);
const MEMBER_LIST = unaryMethod(
  "/etcdserverpb.Cluster/MemberList",
  etcdserverpb.MemberListRequest,
  etcdserverpb.MemberListResponse,
);

const ctlBinary = etcdctlBinary();
const ctlMissing =
  ctlBinary === null ? `etcdctl is not installed; install it with: ${ETCD_INSTALL_COMMAND}` : null;
if (ctlMissing !== null) {
  console.warn(`[snapshot-restore e2e] etcdctl snapshot save part SKIPPED: ${ctlMissing}`);
}

/** Every live key at `revision`, in key order, as plain values. */
async function keyspaceAt(endpoint: string, revision: number) {
  const channel = openChannel(endpoint);
  try {
    const all = Uint8Array.of(0);
    const response = await callUnary(
      channel,
      KV_RANGE,
      { key: all, rangeEnd: all, revision },
      10_000,
    );
    return response.kvs.map((kv) => ({
      key: Buffer.from(kv.key ?? []).toString(),
      value: Buffer.from(kv.value ?? []).toString(),
      create: Number(kv.createRevision),
      mod: Number(kv.modRevision),
      version: Number(kv.version),
      lease: Number(kv.lease),
    }));
  } finally {
    channel.close();
  }
}

async function rawCall<Req, Res>(
  endpoint: string,
  method: Parameters<typeof callUnary<Req, Res>>[1],
  request: Req,
): Promise<Res> {
  const channel = openChannel(endpoint);
  try {
    return await callUnary(channel, method, request, 10_000);
  } finally {
    channel.close();
  }
}

interface SaveOutput {
  readonly path: string;
  readonly endpoint: string;
  readonly appliedIndex: number;
  readonly summary: { revision: number; keys: number; leases: number };
}

/** What the original cluster held when the snapshot was saved. */
interface Captured {
  readonly revision: number;
  readonly keyspaces: ReadonlyArray<Awaited<ReturnType<typeof keyspaceAt>>>;
  readonly hash: number;
  readonly users: readonly User[];
  readonly resources: readonly Resource[];
  readonly opLog: readonly OpLogRecord[];
  readonly token: string;
  readonly longLease: number;
  readonly shortLease: number;
}

describe("snapshot save and restore into a new cluster", { timeout: 180_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), "cairn-restore-e2e-"));
  const snapshotPath = join(work, "backup.db");
  const etcdctlPath = join(work, "etcdctl-backup.db");
  let original: TestCluster | undefined;
  let restored: TestCluster | undefined;
  let captured: Captured;
  let saved: SaveOutput;
  const clients: Cairn[] = [];
  const connect = (cluster: TestCluster, token?: string): Cairn => {
    const client = new Cairn({
      endpoints: cluster.members.map((m) => m.client),
      timeoutMs: 5_000,
      ...(token === undefined ? {} : { token }),
    });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    original = await TestCluster.start({ size: 3 });
    await original.waitForLeader(15_000);
    const admin = connect(original);
    const shortLease = await admin.lease.grant(SHORT_TTL_S);
    const shortGrantedAt = Date.now();
    await admin.put("short/1", "s", { lease: shortLease.id });
    await admin.users.register({ username: "root", password: PASSWORD, email: "r@example.com" });
    await admin.users.login("root", PASSWORD);
    await admin.users.register({ username: "alice", password: PASSWORD, email: "a@example.com" });
    await admin.users.update("alice", { roles: ["operator"] });
    const web = await admin.resources.create({
      name: "web-1",
      region: "eu-west",
      labels: { env: "prod" },
      server: SERVER,
    });
    await admin.resources.start(web.id);
    await admin.resources.install(web.id, { name: "nginx", version: "1.27" });
    const spare = await admin.resources.create({
      name: "spare",
      region: "us-east",
      server: SERVER,
    });
    await admin.resources.start(spare.id);
    await admin.resources.stop(spare.id);
    await admin.resources.delete(spare.id);
    for (const value of ["1", "2", "3"]) await admin.put("multi", value);
    await admin.put("gone", "soon");
    await admin.delete("gone");
    await admin.put("plain", "p");
    const longLease = await admin.lease.grant(600);
    await admin.put("leased/1", "x", { lease: longLease.id });
    await admin.put("leased/2", "y", { lease: longLease.id });

    // Save through the first member, as etcdctl would.
    const cli = new CliRunner(original);
    saved = await cli.json<SaveOutput>(["snapshot", "save", snapshotPath]);
    expect(saved.endpoint).toBe(original.members[0]?.client);
    if (ctlBinary !== null) {
      await new Etcdctl(ctlBinary).ok(original.members[0]?.client as string, [
        "snapshot",
        "save",
        etcdctlPath,
      ]);
    }

    const revision = saved.summary.revision;
    const endpoint = original.members[1]?.client as string;
    const keyspaces = [];
    for (let r = 1; r <= revision; r++) keyspaces.push(await keyspaceAt(endpoint, r));
    const hash = (await rawCall(endpoint, HASH_KV, { revision })).hash;
    captured = {
      revision,
      keyspaces,
      hash,
      users: await admin.users.list().all(),
      resources: await admin.resources.list().all(),
      opLog: await admin.opLog.list().all(),
      token: admin.token as string,
      longLease: longLease.id,
      shortLease: shortLease.id,
    };

    // The disaster: the whole cluster is gone. The short lease's recorded
    // expiry passes while nothing runs.
    for (const client of clients.splice(0)) client.close();
    await original.stop();
    original = undefined;
    await sleep(Math.max(0, shortGrantedAt + (SHORT_TTL_S + 1) * 1000 - Date.now()));

    restored = await TestCluster.start({
      size: 3,
      names: NEW_NAMES,
      extraArgs: ["--initial-cluster-token", NEW_TOKEN],
      beforeStart: async (cluster) => {
        const runner = new CliRunner(cluster);
        for (const member of cluster.members) {
          const result = await runner.run([
            "snapshot",
            "restore",
            snapshotPath,
            "--name",
            member.name,
            "--initial-cluster",
            cluster.initialCluster,
            "--initial-cluster-token",
            NEW_TOKEN,
            "--initial-advertise-peer-urls",
            `http://${member.peer}`,
            "--data-dir",
            member.dataDir,
          ]);
          if (result.code !== 0) throw new Error(`restore ${member.name}: ${result.stderr}`);
          expect(result.stdout).toContain(`as member ${member.name}`);
        }
      },
    });
    await restored.waitForLeader(15_000);
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await original?.stop();
    await restored?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("serves every key at every revision as the original did, with the same hash", async () => {
    const cluster = restored as TestCluster;
    for (let r = 1; r <= captured.revision; r++) {
      const member = cluster.members[r % cluster.members.length]?.client as string;
      expect(await keyspaceAt(member, r), `keyspace at revision ${r}`).toEqual(
        captured.keyspaces[r - 1],
      );
    }
    const latest = captured.keyspaces[captured.revision - 1] ?? [];
    expect(latest.map((kv) => kv.key)).toEqual([
      "leased/1",
      "leased/2",
      "multi",
      "plain",
      "short/1",
    ]);
    expect(latest.find((kv) => kv.key === "multi")).toMatchObject({ value: "3", version: 3 });
    for (const member of cluster.members) {
      const { hash } = await rawCall(member.client, HASH_KV, { revision: captured.revision });
      expect(hash, `HashKV on ${member.name}`).toBe(captured.hash);
    }
  });

  it("keeps users, sessions, resources and the op log", async () => {
    // A token issued by the old cluster still works: sessions are state too.
    const admin = connect(restored as TestCluster, captured.token);
    expect((await admin.users.me()).username).toBe("root");
    expect(await admin.users.list().all()).toEqual(captured.users);
    expect(await admin.resources.list().all()).toEqual(captured.resources);
    expect(await admin.opLog.list().all()).toEqual(captured.opLog);
    expect(captured.opLog.map((r) => r.action)).toEqual(
      expect.arrayContaining(["resource.create", "resource.start", "resource.delete"]),
    );
  });

  it("refreshes leases to a full TTL at restore, so none expired while the cluster was down", async () => {
    const client = connect(restored as TestCluster);
    const long = await client.lease.timeToLive(captured.longLease);
    expect(long.grantedTtlSeconds).toBe(600);
    const short = await client.lease.timeToLive(captured.shortLease);
    expect(short.grantedTtlSeconds).toBe(SHORT_TTL_S);
    expect(short.ttlSeconds).toBeGreaterThan(0);
    expect(short.ttlSeconds).toBeLessThanOrEqual(SHORT_TTL_S);
    expect((await client.get("short/1"))?.lease).toBe(captured.shortLease);
    // A restored lease is a live one: revoking it deletes its keys.
    await client.lease.revoke(captured.longLease);
    expect(await client.kv.getPrefix("leased/")).toEqual([]);
  });

  it("lists the new members only, with the client URLs they published", async () => {
    const cluster = restored as TestCluster;
    const deadline = Date.now() + 15_000;
    let members: etcdserverpb.Member.$Properties[] = [];
    while (Date.now() < deadline) {
      members = (await rawCall(cluster.members[0]?.client as string, MEMBER_LIST, {})).members;
      if (members.every((m) => (m.clientURLs ?? []).length > 0)) break;
      await sleep(200);
    }
    expect(members.map((m) => [m.name, m.clientURLs]).sort()).toEqual(
      cluster.members.map((m) => [m.name, [`http://${m.client}`]]),
    );
  });

  it("accepts new writes, which a restarted member catches up on", async () => {
    const cluster = restored as TestCluster;
    const client = connect(cluster, captured.token);
    const { revision } = await client.put("after-restore", "new");
    expect(revision).toBeGreaterThan(captured.revision);
    const created = await client.resources.create({
      name: "web-2",
      region: "eu-west",
      server: SERVER,
    });
    expect((await client.opLog.list({ filter: { resourceId: created.id } }).all()).length).toBe(1);
    await cluster.kill("r2", "SIGTERM");
    await client.put("while-down", "x");
    cluster.startMember("r2");
    await cluster.waitForLeader(15_000);
    const r2 = new Cairn({ endpoints: [cluster.member("r2").client], timeoutMs: 5_000 });
    clients.push(r2);
    const deadline = Date.now() + 15_000;
    while ((await r2.get("while-down", { serializable: true }).catch(() => null)) === null) {
      if (Date.now() > deadline) throw new Error(`r2 did not catch up\n${cluster.tailLogs()}`);
      await sleep(200);
    }
    expect((await r2.get("after-restore", { serializable: true }))?.value.toString()).toBe("new");
  });

  it.skipIf(ctlMissing !== null)(
    ctlMissing === null
      ? "etcdctl snapshot save writes the same snapshot, which restores too"
      : `etcdctl snapshot save: SKIPPED because ${ctlMissing}`,
    async () => {
      const ours = decodeSnapshot(readFileSync(snapshotPath));
      const theirs = decodeSnapshot(readFileSync(etcdctlPath));
      const plain = (rows: typeof ours.rows) =>
        rows.map((r) => `${r.table}/${r.key.toString("hex")}=${r.value.toString("hex")}`);
      expect(plain(theirs.rows)).toEqual(plain(ours.rows));
      const cli = new CliRunner(restored as TestCluster);
      const report = await cli.json<{ summary: SaveOutput["summary"] }>([
        "snapshot",
        "restore",
        etcdctlPath,
        "--name",
        "solo",
        "--initial-cluster",
        "solo=127.0.0.1:1",
        "--data-dir",
        join(work, "from-etcdctl"),
      ]);
      expect(report.summary).toMatchObject({
        revision: captured.revision,
        keys: saved.summary.keys,
        leases: saved.summary.leases,
      });
    },
  );

  it("refuses a damaged file and an occupied data dir, writing nothing", async () => {
    const cli = new CliRunner(restored as TestCluster);
    const damaged = join(work, "damaged.db");
    const bytes = readFileSync(snapshotPath);
    bytes[Math.floor(bytes.byteLength / 2)] = (bytes[Math.floor(bytes.byteLength / 2)] ?? 0) ^ 1;
    writeFileSync(damaged, bytes);
    const target = join(work, "never-written");
    const flags = ["--name", "r1", "--initial-cluster", "r1=127.0.0.1:1", "--data-dir"];
    const corrupt = await cli.run(["snapshot", "restore", damaged, ...flags, target]);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toMatch(
      /^cairn: refusing to restore: snapshot .*damaged\.db is unusable: snapshot checksum mismatch: the file is truncated or corrupted; nothing was written/,
    );
    const status = await cli.run(["snapshot", "status", damaged]);
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(/checksum mismatch/);
    const occupied = (restored as TestCluster).members[0]?.dataDir as string;
    const existing = await cli.run(["snapshot", "restore", snapshotPath, ...flags, occupied]);
    expect(existing.code).toBe(1);
    expect(existing.stderr).toMatch(
      /^cairn: data dir .* already exists and is not empty: a restore writes a fresh data dir/,
    );
    expect(readdirSync(work).filter((f) => f.startsWith("never-written"))).toEqual([]);
  });
});
