// The periodic corruption check with real processes: a test hook damages one
// member's in-memory state without Raft; the leader's next check finds that
// member's HashKV (KV damage) or state digest (platform damage) out of line
// with the others and raises the CORRUPT alarm naming it, after which writes
// fail everywhere with etcd's "corrupt cluster" until the member is restarted
// from its (healthy) disk and an operator disarms the alarm.
import { status as GrpcStatus } from "@grpc/grpc-js";
import { Etcd3 } from "etcd3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep, TestCluster } from "./harness.js";

const CHECK_INTERVAL = "300ms";
const ALARM_WAIT_MS = 15_000;

describe("periodic corruption check (--corrupt-check-interval)", { timeout: 90_000 }, () => {
  let cluster: TestCluster;
  let etcd: Etcd3;
  beforeAll(async () => {
    cluster = await TestCluster.start({
      size: 3,
      extraArgs: [
        "--corrupt-check-interval",
        CHECK_INTERVAL,
        "--admin-password",
        "corruption check 42",
      ],
    });
    await cluster.waitForLeader(10_000);
    etcd = new Etcd3({ hosts: cluster.members.map((m) => `http://${m.client}`) });
  });
  afterAll(async () => {
    etcd?.close();
    await cluster?.stop();
  });

  async function memberIds(): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    for (const member of cluster.members) {
      const status = await cluster.status(member.name);
      if (status === null) throw new Error(`${member.name} did not answer Status`);
      ids.set(member.name, String(status.id));
    }
    return ids;
  }

  async function corruptAlarms(): Promise<string[]> {
    const listed = await etcd.maintenance.alarm({ action: "Get", memberID: "0", alarm: "None" });
    return listed.alarms.filter((a) => a.alarm === "Corrupt").map((a) => String(a.memberID));
  }

  async function waitForAlarm(memberId: string): Promise<void> {
    const deadline = Date.now() + ALARM_WAIT_MS;
    while (Date.now() < deadline) {
      if ((await corruptAlarms()).includes(memberId)) return;
      await sleep(200);
    }
    throw new Error(`no CORRUPT alarm for member ${memberId}\n${cluster.tailLogs(10)}`);
  }

  async function settle(): Promise<void> {
    const leader = await cluster.waitForLeader(10_000);
    const commit = (await cluster.status(leader))?.commitIndex ?? 0;
    await cluster.waitForApplied(
      cluster.members.map((m) => m.name),
      commit,
      15_000,
    );
  }

  async function corrupt(name: string, body: unknown): Promise<void> {
    const response = await fetch(`http://${cluster.member(name).metrics}/test/corrupt`, {
      method: "POST",
      body: JSON.stringify(body),
    });
    expect(response.status, await response.text()).toBe(200);
  }

  it("raises CORRUPT for a follower whose KV differs, refuses writes, and clears after repair", async () => {
    const client = cluster.client();
    await client.put("canary", "a healthy value");
    await settle();
    // A few rounds on healthy members first: no false alarm.
    await sleep(1_000);
    expect(await corruptAlarms()).toEqual([]);

    const leader = await cluster.waitForLeader(10_000);
    const follower = cluster.members.find((m) => m.name !== leader)?.name as string;
    const ids = await memberIds();
    await corrupt(follower, { kv: "canary" });
    await waitForAlarm(ids.get(follower) as string);
    expect(await corruptAlarms()).toEqual([ids.get(follower)]);

    for (const member of cluster.members) {
      const one = cluster.client([member.name]);
      await expect(one.put("after", "x"), `put through ${member.name}`).rejects.toMatchObject({
        code: GrpcStatus.DATA_LOSS,
        details: "etcdserver: corrupt cluster",
      });
      one.close();
    }
    // Reads still work while the alarm is active (a healthy member answers right).
    const healthy = cluster.client([leader]);
    expect((await healthy.get("canary"))?.value.toString()).toBe("a healthy value");
    healthy.close();

    // Repair: restart the member (its disk is fine), then disarm.
    await cluster.kill(follower, "SIGTERM");
    cluster.startMember(follower);
    await settle();
    await etcd.maintenance.alarm({ action: "Deactivate", memberID: "0", alarm: "Corrupt" });
    await client.put("after", "repaired");
    await sleep(1_500); // several check rounds on the repaired cluster
    expect(await corruptAlarms()).toEqual([]);
    client.close();
  });

  it("raises CORRUPT naming the leader when its platform tables differ from the majority's", async () => {
    await settle();
    const leader = await cluster.waitForLeader(10_000);
    const ids = await memberIds();
    await corrupt(leader, { user: "admin" });
    await waitForAlarm(ids.get(leader) as string);
    expect(await corruptAlarms()).toEqual([ids.get(leader)]);
    expect(cluster.tailLogs(40)).toMatch(/tables differ from the cluster's/);
  });
});
