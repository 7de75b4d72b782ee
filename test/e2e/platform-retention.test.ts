// Op-log retention set through cairn.v1 OpLog.SetRetention: admins only, and
// every member prunes the same records in the same apply.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cairn } from "../../src/client/client.js";
import { TestCluster } from "./harness.js";

const PASSWORD = "correct horse battery";

describe("op-log retention", { timeout: 40_000 }, () => {
  let cluster: TestCluster;
  const clients: Cairn[] = [];
  const connect = (first: number): Cairn => {
    const endpoints = cluster.members.map((m) => m.client);
    const client = new Cairn({
      endpoints: [...endpoints.slice(first), ...endpoints.slice(0, first)],
      timeoutMs: 5_000,
    });
    clients.push(client);
    return client;
  };
  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3 });
    await cluster.waitForLeader(10_000);
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await cluster?.stop();
  });

  it("prunes to max_records on every member once an admin sets it; others are refused", async () => {
    const admin = connect(0);
    await admin.users.register({ username: "root", password: PASSWORD, email: "root@example.com" });
    await admin.users.login("root", PASSWORD);
    await admin.users.register({
      username: "ops",
      password: PASSWORD,
      email: "ops@example.com",
      roles: ["operator"],
    });
    // Past the 100-record minimum, so setting it to 100 must prune.
    for (let i = 0; i < 110; i++) await admin.users.update("ops", { email: `ops${i}@example.com` });

    const operator = connect(1);
    await operator.users.login("ops", PASSWORD);
    const week = 7 * 86_400_000;
    await expect(
      operator.opLog.setRetention({ maxRecords: 100, maxAgeMs: week }),
    ).rejects.toMatchObject({ code: 7 });
    await expect(admin.opLog.setRetention({ maxRecords: 3, maxAgeMs: week })).rejects.toMatchObject(
      {
        code: 3,
        details: expect.stringContaining("retention.max_records must be 100..10000000, got 3"),
      },
    );

    const result = await admin.opLog.setRetention({ maxRecords: 100, maxAgeMs: week });
    expect(result).toMatchObject({ maxRecords: 100, maxAgeMs: week });
    expect(result.pruned).toBeGreaterThan(10);
    for (let first = 0; first < 3; first++) {
      const reader = connect(first);
      await reader.users.login("root", PASSWORD);
      const page = await reader.opLog.page("", { pageSize: 500 });
      // 100 kept at the retention change, plus this reader's own login since.
      expect(page.items.length, `member #${first}`).toBeLessThanOrEqual(100 + first + 1);
      expect(page.firstSequence, `member #${first}`).toBeGreaterThan(10);
      expect(page.items.at(-1)?.action).toBe("user.login");
    }
  });
});
