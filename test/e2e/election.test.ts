// The server-side Election service (v3electionpb) on a real 3-member cluster
// with raw gRPC calls — campaign, leader, observe, proclaim, resign, and a
// leader whose lease expires — plus the etcd3 client's own election recipe
// (over Txn and Watch), read back through the server-side Leader call.
import { Client, credentials, type ServiceError, status } from "@grpc/grpc-js";
import { Etcd3 } from "etcd3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { v3electionpb } from "../../src/gen/etcd.js";
import { ELECTION_SERVICE } from "../../src/server/election/election-service.js";
import { LEASE_SERVICE } from "../../src/server/lease/lease-service.js";
import { callUnary, openServerStream } from "../../src/transport/grpc-codec.js";
import { sleep, TestCluster } from "./harness.js";

const bytes = (text: string): Uint8Array => Buffer.from(text);
const text = (data: Uint8Array | null | undefined): string => Buffer.from(data ?? []).toString();

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await sleep(50);
}

/** A step the etcd3 client may never settle fails by name, well inside the test's timeout. */
const STEP_TIMEOUT_MS = 15_000;
async function step<T>(name: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`step "${name}" did not settle within ${STEP_TIMEOUT_MS} ms`)),
      STEP_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe("v3election on a 3-member cluster", { timeout: 60_000 }, () => {
  let cluster: TestCluster;
  let clients: Client[];
  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3 });
    await cluster.waitForLeader(10_000);
    clients = cluster.members.map((m) => new Client(m.client, credentials.createInsecure()));
  });
  afterAll(async () => {
    for (const client of clients ?? []) client.close();
    await cluster?.stop();
  });
  const via = (i: number): Client => clients[i % clients.length] as Client;
  const grant = async (i: number, ttlSeconds = 30): Promise<number> =>
    (await callUnary(via(i), LEASE_SERVICE.LeaseGrant, { ID: 0, TTL: ttlSeconds })).ID;
  const campaign = (i: number, name: string, lease: number, value: string) =>
    callUnary(via(i), ELECTION_SERVICE.Campaign, { name: bytes(name), lease, value: bytes(value) });
  const leaderValue = async (i: number, name: string): Promise<string> =>
    text((await callUnary(via(i), ELECTION_SERVICE.Leader, { name: bytes(name) })).kv?.value);

  it("campaigns, observes, proclaims and resigns across members", async () => {
    const observed: string[] = [];
    const observer = openServerStream(via(2), ELECTION_SERVICE.Observe, { name: bytes("svc") });
    observer.on("data", (r: v3electionpb.LeaderResponse) => observed.push(text(r.kv?.value)));
    observer.on("error", () => undefined);

    const first = (await campaign(0, "svc", await grant(0), "n1:8080"))
      .leader as v3electionpb.LeaderKey;
    expect(text(first.key)).toBe(`svc/${first.lease.toString(16)}`);
    expect(await leaderValue(1, "svc")).toBe("n1:8080");

    let secondLeader: v3electionpb.LeaderKey | null = null;
    const second = campaign(1, "svc", await grant(1), "n2:8080").then((r) => {
      secondLeader = r.leader as v3electionpb.LeaderKey;
    });
    await callUnary(via(2), ELECTION_SERVICE.Proclaim, { leader: first, value: bytes("n1:9090") });
    expect(await leaderValue(0, "svc")).toBe("n1:9090");
    expect(secondLeader).toBeNull();

    await callUnary(via(0), ELECTION_SERVICE.Resign, { leader: first });
    await second;
    expect(secondLeader).not.toBeNull();
    expect(await leaderValue(2, "svc")).toBe("n2:8080");
    // A deposed leader can no longer proclaim.
    const stale = (await callUnary(via(1), ELECTION_SERVICE.Proclaim, {
      leader: first,
      value: bytes("stale"),
    }).catch((e: unknown) => e)) as ServiceError;
    expect(stale).toMatchObject({ code: status.UNKNOWN, details: "election: not leader" });

    await until(() => observed.length >= 3, 3_000);
    expect(observed).toEqual(["n1:8080", "n1:9090", "n2:8080"]);
    observer.cancel();
  });

  it('answers "election: no leader" for an election nobody runs', async () => {
    const error = (await callUnary(via(1), ELECTION_SERVICE.Leader, {
      name: bytes("nobody"),
    }).catch((e: unknown) => e)) as ServiceError;
    expect(error).toMatchObject({ code: status.UNKNOWN, details: "election: no leader" });
  });

  it("elects the next candidate when the leader's lease expires", async () => {
    const startedAt = Date.now();
    await campaign(0, "expiring", await grant(0, 2), "short-lived");
    const next = await campaign(2, "expiring", await grant(2), "successor");
    expect(text(next.leader?.key)).toMatch(/^expiring\//);
    // TTL 2 s + expiry round and grace; never before the TTL.
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(2_000);
    expect(await leaderValue(1, "expiring")).toBe("successor");
  });

  it("the etcd3 client's election agrees with the server-side Leader call", async () => {
    const [a, b] = [0, 1].map(
      (i) => new Etcd3({ hosts: `http://${cluster.members[i]?.client}` }),
    ) as [Etcd3, Etcd3];
    try {
      const first = a.election("etcd3-elect").campaign("alpha");
      await step("first candidate elected", first.wait());
      const second = b.election("etcd3-elect").campaign("beta");
      // Campaign.wait() only listens for an 'elected' still to come, so it is
      // taken now: b may see alpha's key deleted and be elected before a has
      // even read its own LeaseRevoke reply, and a wait() taken after the
      // resign then never settles (the CI hang; reproduced under load).
      let secondElected = false;
      const elected = step("second candidate elected", second.wait()).then(() => {
        secondElected = true;
      });
      elected.catch(() => undefined); // awaited below; a failure is reported there
      expect(await leaderValue(2, "election/etcd3-elect")).toBe("alpha");
      // Not before the first resigns: its key, on a kept-alive lease, is still there.
      expect(secondElected).toBe(false);
      await step("first candidate resigns", first.resign());
      await elected;
      expect(secondElected).toBe(true);
      expect(await leaderValue(2, "election/etcd3-elect")).toBe("beta");
      await step("second candidate resigns", second.resign());
    } finally {
      a.close();
      b.close();
    }
  });
});
