// A member whose data passes --quota-backend-bytes raises the cluster-wide
// NOSPACE alarm by itself; from then on puts are refused with etcd's error on
// every member while reads and deletes still work.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep, TestCluster } from "./harness.js";

const QUOTA_BYTES = 2 * 1024 * 1024;

describe("backend quota", { timeout: 60_000 }, () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({
      size: 3,
      extraArgs: ["--quota-backend-bytes", String(QUOTA_BYTES)],
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
});
