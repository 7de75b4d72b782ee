// A real 5-member cluster: it keeps serving with two members down, and when
// the leader and one follower are partitioned away, that minority side never
// commits while the majority elects a new leader and carries on.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memberId } from "../../src/server/ids.js";
import { sleep, TestCluster } from "./harness.js";

describe("5-member cluster", { timeout: 120_000 }, () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 5 });
    await cluster.waitForLeader(15_000);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("keeps serving reads and writes with two members down", async () => {
    const leader = await cluster.waitForLeader();
    const down = cluster.members
      .filter((m) => m.name !== leader)
      .slice(0, 2)
      .map((m) => m.name);
    for (const name of down) await cluster.kill(name, "SIGKILL");
    const up = cluster.members.filter((m) => !down.includes(m.name)).map((m) => m.name);
    const client = cluster.client(up);
    for (let i = 0; i < 50; i++) await client.put(`two-down-${i}`, `v${i}`);
    for (let i = 0; i < 50; i++)
      expect((await client.get(`two-down-${i}`))?.value.toString()).toBe(`v${i}`);
    client.close();
    for (const name of down) cluster.startMember(name);
    const commit = (await cluster.status(leader))?.commitIndex ?? 0;
    await cluster.waitForApplied(down, commit, 20_000);
  });

  it("a minority partition (old leader + one follower) never commits; the majority does", async () => {
    const oldLeader = await cluster.waitForLeader();
    const minority = [oldLeader, cluster.members.find((m) => m.name !== oldLeader)?.name as string];
    const majority = cluster.members.map((m) => m.name).filter((n) => !minority.includes(n));
    // Member ids derive from names and the (default) cluster token, as the server derives them.
    const cutFrom = (others: readonly string[]) => ({
      links: others.map((name) => ({
        peer: memberId(name, "cairn-cluster"),
        direction: "both",
        drop: true,
      })),
    });
    for (const name of minority) await cluster.faults(name, cutFrom(majority));
    for (const name of majority) await cluster.faults(name, cutFrom(minority));
    await sleep(500);
    const commitBefore = await Promise.all(
      minority.map(async (n) => (await cluster.status(n))?.commitIndex),
    );

    const minorityClient = cluster.client(minority, 1500);
    const attempts = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => minorityClient.put(`minority-${i}`, "must not commit")),
    );
    minorityClient.close();
    expect(
      attempts.every((a) => a.status === "rejected"),
      "no write on the minority side is acknowledged",
    ).toBe(true);

    const newLeader = await cluster.waitForLeader(15_000, majority);
    expect(majority).toContain(newLeader);
    const majorityClient = cluster.client(majority);
    for (let i = 0; i < 20; i++) await majorityClient.put(`majority-${i}`, `v${i}`);
    majorityClient.close();
    const commitAfter = await Promise.all(
      minority.map(async (n) => (await cluster.status(n))?.commitIndex),
    );
    expect(commitAfter, "the minority side's commit index did not move").toEqual(commitBefore);

    for (const member of cluster.members) await cluster.faults(member.name, { links: [] });
    const commit = (await cluster.status(newLeader))?.commitIndex ?? 0;
    await cluster.waitForApplied(
      cluster.members.map((m) => m.name),
      commit,
      20_000,
    );
    const reader = cluster.client();
    for (let i = 0; i < 5; i++) expect(await reader.get(`minority-${i}`)).toBeNull();
    for (let i = 0; i < 20; i++)
      expect((await reader.get(`majority-${i}`))?.value.toString()).toBe(`v${i}`);
    reader.close();
  });
});
