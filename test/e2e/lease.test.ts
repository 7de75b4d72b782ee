// Leases on a real 3-member cluster, through the npm etcd3 client and raw
// Lease calls: grant/keep-alive/time-to-live/leases/revoke with etcd's rules,
// expiry deleting keys within TTL + election timeout + ε, and the etcd pain
// point (#9395): a leader kill -9 neither resets the remaining TTL nor drops a
// lease kept alive by a client.
import { Client, credentials } from "@grpc/grpc-js";
import { Etcd3 } from "etcd3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LEASE_SERVICE } from "../../src/server/lease/lease-service.js";
import { callUnary, openBidiStream } from "../../src/transport/grpc-codec.js";
import { sleep, TestCluster } from "./harness.js";

const ELECTION_TIMEOUT_MS = 1000;
/** Slack for a loaded 2-core machine: expiry round, grace, apply and polling. */
const EPSILON_MS = 1000;

describe("Lease service on a 3-member cluster", { timeout: 60_000 }, () => {
  let cluster: TestCluster;
  const etcds = new Map<string, Etcd3>();
  const raws = new Map<string, Client>();
  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3 });
    await cluster.waitForLeader(10_000);
  });
  afterAll(async () => {
    for (const client of etcds.values()) client.close();
    for (const client of raws.values()) client.close();
    await cluster?.stop();
  });
  const etcd = (name: string): Etcd3 => {
    let client = etcds.get(name);
    if (client === undefined) {
      client = new Etcd3({ hosts: `http://${cluster.member(name).client}` });
      etcds.set(name, client);
    }
    return client;
  };
  const raw = (name: string): Client => {
    let client = raws.get(name);
    if (client === undefined) {
      client = new Client(cluster.member(name).client, credentials.createInsecure());
      raws.set(name, client);
    }
    return client;
  };
  const timeToLive = (name: string, id: number, keys = false) =>
    callUnary(raw(name), LEASE_SERVICE.LeaseTimeToLive, { ID: id, keys });
  const keepAliveOnce = (name: string, id: number) =>
    new Promise<{ ID: number; TTL: number }>((resolve, reject) => {
      const stream = openBidiStream(raw(name), LEASE_SERVICE.LeaseKeepAlive);
      stream.once("data", (response: { ID: number; TTL: number }) => {
        stream.end();
        resolve(response);
      });
      stream.once("error", reject);
      stream.write({ ID: id });
    });

  it("grants, keeps alive, reports TTL and keys, lists and revokes, on every member", async () => {
    const lease = etcd("n1").lease(10, { autoKeepAlive: false });
    const id = Number(await lease.grant());
    await lease.put("lease/a").value("1");
    const ttl = await timeToLive("n2", id, true);
    expect(ttl.TTL).toBeGreaterThanOrEqual(8);
    expect(ttl.TTL).toBeLessThanOrEqual(10);
    expect(ttl.grantedTTL).toBe(10);
    expect(ttl.keys.map((k) => Buffer.from(k).toString())).toEqual(["lease/a"]);
    expect(Number((await lease.keepaliveOnce()).TTL)).toBe(10);
    expect(await keepAliveOnce("n3", id)).toMatchObject({ ID: id, TTL: 10 });
    const listed = await callUnary(raw("n3"), LEASE_SERVICE.LeaseLeases, {});
    expect(listed.leases.map((l) => l.ID)).toContain(id);
    await lease.revoke();
    expect(await etcd("n3").get("lease/a").string()).toBeNull();
    expect((await timeToLive("n1", id)).TTL).toBe(-1);
    // etcd answers a keep-alive of a dead lease with TTL 0, not an error.
    expect(await keepAliveOnce("n2", id)).toMatchObject({ ID: id, TTL: 0 });
  });

  it("raises a TTL below the minimum to 2 s and refuses one above 9e9 s", async () => {
    const short = await callUnary(raw("n2"), LEASE_SERVICE.LeaseGrant, { ID: 0, TTL: 1 });
    expect(short.TTL).toBe(2);
    await expect(
      callUnary(raw("n1"), LEASE_SERVICE.LeaseGrant, { ID: 0, TTL: 9_000_000_001 }),
    ).rejects.toMatchObject({ details: "etcdserver: too large lease TTL" });
    const named = await callUnary(raw("n3"), LEASE_SERVICE.LeaseGrant, { ID: 4242, TTL: 30 });
    expect(named.ID).toBe(4242);
    await expect(
      callUnary(raw("n1"), LEASE_SERVICE.LeaseGrant, { ID: 4242, TTL: 30 }),
    ).rejects.toMatchObject({ details: "etcdserver: lease already exists" });
    await callUnary(raw("n1"), LEASE_SERVICE.LeaseRevoke, { ID: 4242 });
  });

  it("expires a lease and deletes its keys within TTL + election timeout + ε", async () => {
    const grantedAt = Date.now();
    const granted = await callUnary(raw("n2"), LEASE_SERVICE.LeaseGrant, { ID: 0, TTL: 2 });
    await etcd("n3").put("lease/expiring").value("x").lease(String(granted.ID));
    let goneAfterMs = -1;
    while (Date.now() - grantedAt < 2_000 + ELECTION_TIMEOUT_MS + EPSILON_MS + 1_000) {
      if ((await etcd("n1").get("lease/expiring").string()) === null) {
        goneAfterMs = Date.now() - grantedAt;
        break;
      }
      await sleep(100);
    }
    expect(goneAfterMs).toBeGreaterThanOrEqual(2_000);
    expect(goneAfterMs).toBeLessThanOrEqual(2_000 + ELECTION_TIMEOUT_MS + EPSILON_MS);
    expect((await timeToLive("n3", granted.ID)).TTL).toBe(-1);
  });

  it("keeps the remaining TTL through a leader kill -9, and a kept-alive lease survives", async () => {
    const leader = await cluster.waitForLeader(10_000);
    const survivors = cluster.members.map((m) => m.name).filter((n) => n !== leader);
    const [via, other] = survivors as [string, string];
    const ttlSeconds = 8;
    const grantedAt = Date.now();
    const granted = await callUnary(raw(via), LEASE_SERVICE.LeaseGrant, { ID: 0, TTL: ttlSeconds });
    await etcd(via).put("lease/doomed").value("x").lease(String(granted.ID));
    // A client lease on the survivors, renewed every TTL/3 by etcd3 across the election.
    const keeper = new Etcd3({ hosts: survivors.map((n) => `http://${cluster.member(n).client}`) });
    const kept = keeper.lease(6);
    await kept.put("lease/kept").value("alive");

    await sleep(2_500);
    await cluster.kill(leader, "SIGKILL");
    await cluster.waitForLeader(10_000, survivors);
    const elapsedSeconds = (Date.now() - grantedAt) / 1000;
    const after = await timeToLive(other, granted.ID);
    // etcd 3.4 would report the full TTL again (plus the election timeout) here.
    expect(after.TTL).toBeGreaterThan(0);
    expect(after.TTL).toBeLessThanOrEqual(Math.ceil(ttlSeconds - elapsedSeconds));

    let goneAfterMs = -1;
    while (Date.now() - grantedAt < ttlSeconds * 1000 + ELECTION_TIMEOUT_MS + EPSILON_MS + 1_000) {
      if ((await etcd(other).get("lease/doomed").string()) === null) {
        goneAfterMs = Date.now() - grantedAt;
        break;
      }
      await sleep(100);
    }
    expect(goneAfterMs).toBeGreaterThanOrEqual(ttlSeconds * 1000);
    expect(goneAfterMs).toBeLessThanOrEqual(ttlSeconds * 1000 + ELECTION_TIMEOUT_MS + EPSILON_MS);
    // More than one TTL of the kept lease has passed, a leader change included.
    expect(await keeper.get("lease/kept").string()).toBe("alive");
    await kept.revoke();
    keeper.close();
  });
});
