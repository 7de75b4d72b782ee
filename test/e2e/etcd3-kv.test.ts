// The npm etcd3 client (v1.1, unmodified) against a real 3-member cairn
// cluster: KV, prefix reads, transactions, compaction and historic reads,
// Maintenance (status, hashKV agreeing across members, alarms, defragment).
import { Etcd3 } from "etcd3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callUnary, openChannel, unaryMethod } from "../../src/client/rpc.js";
import { etcdserverpb } from "../../src/gen/etcd.js";
import { decodeSnapshot } from "../../src/storage/snapshot-file.js";
import { openServerStream, serverStreamMethod } from "../../src/transport/grpc-codec.js";
import { TestCluster } from "./harness.js";

describe("etcd3 client against cairn: KV, txn, compaction, maintenance", {
  timeout: 60_000,
}, () => {
  let cluster: TestCluster;
  let clients: Etcd3[];
  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3 });
    await cluster.waitForLeader(10_000);
    // One client per member, so followers serve requests too.
    clients = cluster.members.map((m) => new Etcd3({ hosts: `http://${m.client}` }));
  });
  afterAll(async () => {
    for (const client of clients ?? []) client.close();
    await cluster?.stop();
  });
  const via = (i: number): Etcd3 => clients[i % clients.length] as Etcd3;

  it("puts through one member and reads through every other, with prefixes and deletes", async () => {
    await via(0).put("app/a").value("1");
    await via(1).put("app/b").value("2");
    await via(2).put("other").value("3");
    for (let i = 0; i < 3; i++) {
      expect(await via(i).get("app/a").string()).toBe("1");
      expect(await via(i).getAll().prefix("app/").strings()).toEqual({
        "app/a": "1",
        "app/b": "2",
      });
    }
    expect(await via(1).getAll().prefix("app/").count()).toBe(2);
    await via(2).delete().key("app/a");
    expect(await via(0).get("app/a").string()).toBeNull();
    expect(await via(0).getAll().prefix("app/").keys()).toEqual(["app/b"]);
  });

  it("runs compare-and-swap transactions through followers", async () => {
    await via(0).put("cas").value("v1");
    const swapped = await via(1)
      .if("cas", "Value", "==", "v1")
      .then(via(1).put("cas").value("v2"))
      .commit();
    expect(swapped.succeeded).toBe(true);
    const missed = await via(2)
      .if("cas", "Value", "==", "v1")
      .then(via(2).put("cas").value("v3"))
      .else(via(2).get("cas"))
      .commit();
    expect(missed.succeeded).toBe(false);
    expect(missed.responses[0]?.response_range?.kvs[0]?.value.toString()).toBe("v2");
    const created = await via(0)
      .if("fresh", "Create", "==", 0)
      .then(via(0).put("fresh").value("x"))
      .commit();
    expect(created.succeeded).toBe(true);
  });

  it("reads history by revision until compaction, then reports it compacted", async () => {
    const first = await via(0).put("hist").value("old").exec();
    await via(0).put("hist").value("new");
    const revision = Number(first.header.revision);
    const past = await via(1).get("hist").revision(revision).string();
    expect(past).toBe("old");
    const latest = Number((await via(0).put("hist").value("newest").exec()).header.revision);
    const kv = via(0).kv;
    await kv.compact({ revision: latest, physical: true });
    await expect(via(1).get("hist").revision(revision).string()).rejects.toThrow(/compacted/);
    expect(await via(2).get("hist").string()).toBe("newest");
  });

  it("reports status, and every member hashes the same keyspace", async () => {
    const status = await via(1).maintenance.status();
    expect(Number(status.leader)).toBeGreaterThan(0);
    expect(Number(status.raftAppliedIndex)).toBeGreaterThan(0);
    expect(Number(status.dbSize)).toBeGreaterThan(0);
    const revision = Number((await via(0).put("hash-point").value("x").exec()).header.revision);
    const leaderCommit = (await cluster.status(await cluster.waitForLeader()))?.commitIndex ?? 0;
    await cluster.waitForApplied(
      cluster.members.map((m) => m.name),
      leaderCommit,
    );
    // etcd3's bundled proto has no HashKV method, so call it directly.
    const hashKv = unaryMethod(
      "/etcdserverpb.Maintenance/HashKV",
      etcdserverpb.HashKVRequest,
      etcdserverpb.HashKVResponse,
    );
    const hashes = await Promise.all(
      cluster.members.map(async (m) => {
        const channel = openChannel(m.client);
        try {
          return await callUnary(channel, hashKv, { revision }, 3000);
        } finally {
          channel.close();
        }
      }),
    );
    expect(
      hashes.every((h) => h.hash !== 0 && h.header?.revision === hashes[0]?.header?.revision),
    ).toBe(true);
    expect(new Set(hashes.map((h) => h.hash)).size).toBe(1);
    await via(2).maintenance.defragment();
  });

  it("answers Maintenance.Hash alike on every member, and differently after a write", async () => {
    const hash = unaryMethod(
      "/etcdserverpb.Maintenance/Hash",
      etcdserverpb.HashRequest,
      etcdserverpb.HashResponse,
    );
    const hashesAfter = async (key: string) => {
      await via(0).put(key).value("x").exec();
      const commit = (await cluster.status(await cluster.waitForLeader()))?.commitIndex ?? 0;
      await cluster.waitForApplied(
        cluster.members.map((m) => m.name),
        commit,
      );
      return Promise.all(
        cluster.members.map(async (m) => {
          const channel = openChannel(m.client);
          try {
            return await callUnary(channel, hash, {}, 3000);
          } finally {
            channel.close();
          }
        }),
      );
    };
    const before = await hashesAfter("hash-a");
    expect(new Set(before.map((h) => Number(h.header?.revision))).size).toBe(1);
    expect(new Set(before.map((h) => h.hash)).size).toBe(1);
    const after = await hashesAfter("hash-b");
    expect(new Set(after.map((h) => h.hash)).size).toBe(1);
    expect(Number(after[0]?.header?.revision)).toBeGreaterThan(Number(before[0]?.header?.revision));
    expect(after[0]?.hash).not.toBe(before[0]?.hash);
  });

  it("raises, lists and disarms alarms cluster-wide; NOSPACE refuses puts but not deletes", async () => {
    const memberID = String((await cluster.status("n1"))?.id ?? 0);
    await via(0).maintenance.alarm({ action: "Activate", memberID, alarm: "Nospace" });
    const listed = await via(2).maintenance.alarm({ action: "Get", memberID: "0", alarm: "None" });
    expect(listed.alarms.map((a) => a.alarm)).toEqual(["Nospace"]);
    // etcd3's circuit breaker retries ResourceExhausted instead of surfacing it; use a plain client.
    const plain = cluster.client(["n2"]);
    await expect(plain.put("blocked", "x")).rejects.toMatchObject({
      code: 8,
      details: "etcdserver: mvcc: database space exceeded",
    });
    expect((await plain.delete("other")).deleted).toBe(1);
    plain.close();
    await via(2).maintenance.alarm({ action: "Deactivate", memberID, alarm: "Nospace" });
    await via(1).put("blocked").value("x");
    expect(await via(0).get("blocked").string()).toBe("x");
  });

  it("streams a consistent snapshot that decodes to the member's state", async () => {
    await via(0).put("snap/key").value("snap-value");
    const method = serverStreamMethod(
      "/etcdserverpb.Maintenance/Snapshot",
      etcdserverpb.SnapshotRequest,
      etcdserverpb.SnapshotResponse,
    );
    const channel = openChannel(cluster.members[0]?.client as string);
    const chunks: Buffer[] = [];
    let lastRemaining = -1;
    for await (const response of openServerStream(channel, method, {})) {
      chunks.push(Buffer.from(response.blob));
      lastRemaining = response.remainingBytes;
    }
    channel.close();
    expect(lastRemaining).toBe(0);
    const snapshot = decodeSnapshot(Buffer.concat(chunks));
    expect(snapshot.appliedIndex).toBeGreaterThan(0);
    const values = snapshot.rows
      .filter((r) => r.table === "kv")
      .map((r) => r.value.toString("latin1"));
    expect(values.some((v) => v.includes("snap-value"))).toBe(true);
  });

  it("refuses bad input with etcd's errors", async () => {
    await expect(via(0).put("").value("x")).rejects.toThrow(/key is not provided/);
    const tooMany = via(0).if("cas", "Value", "==", "v2");
    const ops = Array.from({ length: 129 }, (_, i) => via(0).put(`many/${i}`).value("x"));
    await expect(tooMany.then(...ops).commit()).rejects.toThrow(
      /too many operations in txn request/,
    );
    const dup = via(0)
      .if("cas", "Value", "==", "v2")
      .then(via(0).put("d").value("1"), via(0).put("d").value("2"));
    await expect(dup.commit()).rejects.toThrow(/duplicate key given in txn request/);
    await expect(via(0).get("hist").revision(1_000_000).string()).rejects.toThrow(
      /future revision/,
    );
    // Over --max-request-bytes (1.5 MiB) but under the gRPC limit: etcd's own error.
    const plain = cluster.client(["n3"]);
    await expect(plain.put("huge", Buffer.alloc(1.6 * 1024 * 1024, 1))).rejects.toMatchObject({
      details: "etcdserver: request is too large",
    });
    plain.close();
  });
});
