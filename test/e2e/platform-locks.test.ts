// cairn.v1.Locks on a real 3-member cluster over raw gRPC: mutual exclusion
// of 8 clients × 10 rounds on a counter kept in a resource and written only
// under the lock's fence (no lost or doubled increment); the fence refusing a
// stale holder's write; FIFO hand-over (on release and on a revoked lease);
// deadlines withdrawing the waiter; TryAcquire and role checks.
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cairn } from "../../src/gen/cairn.js";
import { LEASE_SERVICE } from "../../src/server/lease/lease-service.js";
import { LOCKS_SERVICE } from "../../src/server/platform/locks.js";
import { RESOURCES_SERVICE } from "../../src/server/platform/resources.js";
import { callUnary } from "../../src/transport/grpc-codec.js";
import { sleep, TestCluster } from "./harness.js";
import { Channels, expectStatus, type Session, serverSpec, signUp } from "./platform-helpers.js";

const WORKERS = 8;
const ROUNDS = 10;

describe("cairn.v1 Locks on a 3-member cluster", { timeout: 40_000 }, () => {
  let cluster: TestCluster;
  let channels: Channels;
  let admin: Session;
  let operators: Session[];
  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3 });
    await cluster.waitForLeader(10_000);
    channels = new Channels(cluster);
    admin = await signUp(channels, "root");
    const role = [cairn.v1.Role.ROLE_OPERATOR];
    operators = [
      await signUp(channels, "op-a", { by: admin, roles: role, member: 1 }),
      await signUp(channels, "op-b", { by: admin, roles: role, member: 2 }),
    ];
  });
  afterAll(async () => {
    channels?.close();
    await cluster?.stop();
  });

  const waitersOf = async (name: string): Promise<number> =>
    (await admin.call(LOCKS_SERVICE.Get, { name })).waiters?.length ?? 0;

  it(`excludes ${WORKERS} clients × ${ROUNDS} rounds; every fenced increment lands once`, async () => {
    const counter = await admin.call(RESOURCES_SERVICE.Create, {
      name: "counter",
      region: "eu-west",
      labels: { count: "0" },
      server: serverSpec(),
    });
    const id = counter.resource?.id ?? "";
    let holders = 0;
    let holdersMax = 0;
    const tokens: number[] = [];
    const worker = async (w: number): Promise<void> => {
      const session = operators[w % operators.length] as Session;
      let leaseId = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const held = await session.call(
          LOCKS_SERVICE.Acquire,
          { name: "counter-lock", leaseId, ttlSeconds: 30 },
          w + round,
        );
        expect(held.acquired).toBe(true);
        leaseId = held.leaseId;
        holders++;
        holdersMax = Math.max(holdersMax, holders);
        tokens.push(held.token);
        const read = await session.call(RESOURCES_SERVICE.Get, { id }, w + round + 1);
        const count = Number(read.resource?.labels?.count ?? "NaN");
        await sleep(1); // widen the critical section so an overlap would show
        // Fenced only: no expected_version, so only the lock keeps increments apart.
        const fence = { lock: "counter-lock", token: held.token };
        await session.call(
          RESOURCES_SERVICE.Update,
          { id, fence, labels: { labels: { count: String(count + 1) } } },
          w + round + 2,
        );
        holders--;
        await session.call(
          LOCKS_SERVICE.Release,
          { name: "counter-lock", leaseId, token: held.token },
          w,
        );
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
    const final = await admin.call(RESOURCES_SERVICE.Get, { id }, 2);
    expect(final.resource?.labels?.count).toBe(String(WORKERS * ROUNDS));
    expect(final.resource?.version).toBe(1 + WORKERS * ROUNDS);
    expect(holdersMax).toBe(1);
    expect(new Set(tokens).size).toBe(tokens.length); // a fresh token per hold
  });

  it("refuses a stale holder's fenced write and release", async () => {
    const [a, b] = operators as [Session, Session];
    const id =
      (
        await a.call(RESOURCES_SERVICE.Create, {
          name: "fenced",
          region: "eu-west",
          server: serverSpec(),
        })
      ).resource?.id ?? "";
    const first = await a.call(LOCKS_SERVICE.Acquire, { name: "fence-lock", ttlSeconds: 30 }, 0);
    await a.call(LOCKS_SERVICE.Release, { name: "fence-lock", leaseId: first.leaseId }, 1);
    const second = await b.call(LOCKS_SERVICE.Acquire, { name: "fence-lock", ttlSeconds: 30 }, 2);
    expect(second.token).toBeGreaterThan(first.token);
    await expectStatus(
      a.call(
        RESOURCES_SERVICE.Update,
        { id, fence: { lock: "fence-lock", token: first.token }, category: "stale" },
        1,
      ),
      status.ABORTED,
      new RegExp(`fence token ${first.token} .* is stale: the holder's token is ${second.token}`),
    );
    await expectStatus(
      a.call(LOCKS_SERVICE.Release, {
        name: "fence-lock",
        leaseId: second.leaseId,
        token: first.token,
      }),
      status.ABORTED,
      /is stale/,
    );
    const read = await b.call(RESOURCES_SERVICE.Get, { id }, 0);
    expect(read.resource?.version).toBe(1);
  });

  it("hands over in FIFO order, on release and on a revoked lease", async () => {
    const [a, b] = operators as [Session, Session];
    const holder = await a.call(LOCKS_SERVICE.Acquire, { name: "fifo", ttlSeconds: 30 }, 0);
    const order: string[] = [];
    const first = b.call(LOCKS_SERVICE.Acquire, { name: "fifo", ttlSeconds: 30 }, 1).then((r) => {
      order.push("first");
      return r;
    });
    while ((await waitersOf("fifo")) < 1) await sleep(10);
    const second = a.call(LOCKS_SERVICE.Acquire, { name: "fifo", ttlSeconds: 30 }, 2).then((r) => {
      order.push("second");
      return r;
    });
    while ((await waitersOf("fifo")) < 2) await sleep(10);
    const line = await admin.call(LOCKS_SERVICE.Get, { name: "fifo" }, 1);
    expect(line.holder?.owner).toBe("op-a");
    expect(line.waiters?.map((w) => w.owner)).toEqual(["op-b", "op-a"]);
    await a.call(LOCKS_SERVICE.Release, { name: "fifo", leaseId: holder.leaseId }, 2);
    const firstHeld = await first;
    expect(order).toEqual(["first"]);
    expect(firstHeld.token).toBeGreaterThan(holder.token);
    // The holder's lease dies: the lock passes on without a Release.
    await callUnary(channels.via(0), LEASE_SERVICE.LeaseRevoke, { ID: firstHeld.leaseId });
    const secondHeld = await second;
    expect(order).toEqual(["first", "second"]);
    expect(secondHeld.token).toBeGreaterThan(firstHeld.token);
  });

  it("withdraws a waiter at its timeout or its call's deadline", async () => {
    const [a, b] = operators as [Session, Session];
    await a.call(LOCKS_SERVICE.Acquire, { name: "busy", ttlSeconds: 30 }, 0);
    await expectStatus(
      b.call(LOCKS_SERVICE.Acquire, { name: "busy", ttlSeconds: 30, timeoutMs: 300 }, 1),
      status.DEADLINE_EXCEEDED,
      /lock "busy" was not acquired within \d+ ms; its place in line was withdrawn/,
    );
    expect(await waitersOf("busy")).toBe(0);
    await expectStatus(
      b.call(LOCKS_SERVICE.Acquire, { name: "busy", ttlSeconds: 30 }, 2, 400),
      status.DEADLINE_EXCEEDED,
    );
    const deadline = Date.now() + 5000;
    while ((await waitersOf("busy")) > 0 && Date.now() < deadline) await sleep(20);
    expect(await waitersOf("busy")).toBe(0);
    const busy = await b.call(LOCKS_SERVICE.TryAcquire, { name: "busy", ttlSeconds: 30 }, 2);
    expect(busy).toMatchObject({ acquired: false, leaseId: 0 });
    expect(busy.holder?.owner).toBe("op-a");
  });

  it("lets viewers read locks but not take them; refuses bad names", async () => {
    const viewer = await signUp(channels, "watcher", { member: 2 });
    await expectStatus(
      viewer.call(LOCKS_SERVICE.Acquire, { name: "x", ttlSeconds: 30 }),
      status.PERMISSION_DENIED,
      /may not lock\.write/,
    );
    expect((await viewer.call(LOCKS_SERVICE.Get, { name: "busy" }, 1)).held).toBe(true);
    await expectStatus(
      admin.call(LOCKS_SERVICE.Acquire, { name: "bad name", ttlSeconds: 30 }),
      status.INVALID_ARGUMENT,
      /lock\.name must be 1\.\.256 characters/,
    );
  });
});
