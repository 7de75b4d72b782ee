// A member whose data passes --quota-backend-bytes raises the cluster-wide
// NOSPACE alarm by itself; from then on puts are refused with etcd's error on
// every member while reads and deletes still work. Recovery is etcd's:
// delete, compact, defragment every member, disarm.
import { Client, credentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KV_SERVICE, MAINTENANCE_SERVICE } from "../../src/server/services.js";
import { callUnary } from "../../src/transport/grpc-codec.js";
import { sleep, TestCluster } from "./harness.js";

const QUOTA_BYTES = 2 * 1024 * 1024;

describe("backend quota", { timeout: 60_000 }, () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({
      size: 3,
      // Frequent snapshot points, so deleting keys also lets the Raft log shrink.
      extraArgs: [
        "--quota-backend-bytes",
        String(QUOTA_BYTES),
        "--snapshot-count",
        "20",
        "--snapshot-catchup-entries",
        "5",
      ],
    });
    await cluster.waitForLeader(10_000);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("raises NOSPACE past the quota; puts fail everywhere, reads and deletes work", async () => {
    const client = cluster.client();
    const value = "x".repeat(64 * 1024);
    let refused: unknown = null;
    for (let i = 0; i < 200 && refused === null; i++) {
      await client.put(`big/${i}`, value).catch((error: unknown) => {
        refused = error;
      });
      if (i % 16 === 15) await sleep(200);
    }
    expect(refused, "a put was refused once the quota was passed").toMatchObject({
      details: "etcdserver: mvcc: database space exceeded",
    });
    for (const member of cluster.members) {
      const one = cluster.client([member.name]);
      await expect(one.put("after", "x")).rejects.toMatchObject({
        details: "etcdserver: mvcc: database space exceeded",
      });
      expect((await one.get("big/0"))?.value.length).toBe(value.length);
      one.close();
    }
    expect((await client.delete("big/0")).deleted).toBe(1);
    client.close();
  });

  it("recovers by delete, compact, defragment and disarm", async () => {
    const client = cluster.client();
    const keys = await client.kv.getPrefix("big/");
    for (const kv of keys) await client.delete(kv.key);
    const grpc = cluster.members.map((m) => new Client(m.client, credentials.createInsecure()));
    try {
      const first = grpc[0] as Client;
      const { header } = await callUnary(first, KV_SERVICE.Range, { key: Buffer.from("after") });
      await callUnary(first, KV_SERVICE.Compact, {
        revision: header?.revision ?? 0,
        physical: true,
      });
      // Let every member apply the deletes and record a snapshot point (log compaction).
      await sleep(1500);
      for (const member of grpc) {
        const sizes = await callUnary(member, MAINTENANCE_SERVICE.Defragment, {});
        expect(sizes).toBeDefined();
      }
      const status = await callUnary(first, MAINTENANCE_SERVICE.Status, {});
      expect(status.dbSize).toBeLessThan(QUOTA_BYTES);
      await callUnary(first, MAINTENANCE_SERVICE.Alarm, { action: 2, memberID: 0, alarm: 1 });
      // A put now works on every member.
      for (const member of cluster.members) {
        const one = cluster.client([member.name]);
        await expect(one.put(`after/${member.name}`, "x")).resolves.toBeDefined();
        one.close();
      }
    } finally {
      for (const channel of grpc) channel.close();
      client.close();
    }
  });
});
