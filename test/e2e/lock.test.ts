// The server-side Lock service (v3lockpb, as jetcd and Jepsen use it) on a
// real 3-member cluster with raw gRPC calls: mutual exclusion under contention
// with fenced writes, FIFO hand-over when the holder's lease is revoked, the
// #11408 re-check (a waiter whose lease dies is refused), deadlines withdrawing
// the waiter; plus the etcd3 client's own try-lock over Txn.
import { Client, credentials, type ServiceError, status } from "@grpc/grpc-js";
import { Etcd3, EtcdLockFailedError } from "etcd3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LEASE_SERVICE } from "../../src/server/lease/lease-service.js";
import { LOCK_SERVICE } from "../../src/server/lock/lock-service.js";
import { KV_SERVICE } from "../../src/server/services.js";
import { callUnary } from "../../src/transport/grpc-codec.js";
import { sleep, TestCluster } from "./harness.js";

const WORKERS = 8;
const ROUNDS = 10;
const bytes = (text: string): Uint8Array => Buffer.from(text);
const text = (data: Uint8Array): string => Buffer.from(data).toString();

describe("v3lock on a 3-member cluster", { timeout: 60_000 }, () => {
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
  const lock = (i: number, name: string, lease: number, deadlineMs?: number) =>
    callUnary(
      via(i),
      LOCK_SERVICE.Lock,
      { name: bytes(name), lease },
      deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs },
    );
  const createRevision = async (i: number, key: Uint8Array): Promise<number> => {
    const range = await callUnary(via(i), KV_SERVICE.Range, { key });
    return range.kvs[0]?.createRevision ?? 0;
  };

  it(`excludes ${WORKERS} contending clients × ${ROUNDS} rounds; every fenced write lands`, async () => {
    let holders = 0;
    let holdersMax = 0;
    const worker = async (w: number): Promise<void> => {
      const lease = await grant(w);
      for (let round = 0; round < ROUNDS; round++) {
        const { key } = await lock(w, "counter-lock", lease);
        holders++;
        holdersMax = Math.max(holdersMax, holders);
        const token = await createRevision(w, key);
        const read = await callUnary(via(w), KV_SERVICE.Range, { key: bytes("counter") });
        const count = Number(text(read.kvs[0]?.value ?? bytes("0")));
        await sleep(1); // widen the critical section so an overlap would show
        // The write is fenced by the lock key's create revision (etcd's guidance).
        const write = await callUnary(via(w), KV_SERVICE.Txn, {
          compare: [{ result: 0, target: 1, key, createRevision: token }],
          success: [{ requestPut: { key: bytes("counter"), value: bytes(String(count + 1)) } }],
        });
        expect(write.succeeded).toBe(true);
        holders--;
        await callUnary(via(w + 1), LOCK_SERVICE.Unlock, { key });
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
    const final = await callUnary(via(0), KV_SERVICE.Range, { key: bytes("counter") });
    expect(text(final.kvs[0]?.value ?? bytes(""))).toBe(String(WORKERS * ROUNDS));
    expect(holdersMax).toBe(1);
  });

  it("hands the lock to the next waiter when the holder's lease is revoked", async () => {
    const [holderLease, waiterLease] = [await grant(0), await grant(1)];
    const held = await lock(0, "handover", holderLease);
    let granted = false;
    const waiting = lock(1, "handover", waiterLease).then((r) => {
      granted = true;
      return r;
    });
    await sleep(300);
    expect(granted).toBe(false);
    await callUnary(via(2), LEASE_SERVICE.LeaseRevoke, { ID: holderLease });
    const next = await waiting;
    expect(text(next.key)).toBe(`handover/${waiterLease.toString(16)}`);
    expect(await createRevision(2, held.key)).toBe(0);
    expect(await createRevision(2, next.key)).toBeGreaterThan(0);
  });

  it('refuses a waiter whose lease died while it waited: "mutex: session is expired"', async () => {
    const [holderLease, waiterLease] = [await grant(0), await grant(2)];
    const held = await lock(0, "recheck", holderLease);
    const waiting = lock(2, "recheck", waiterLease);
    // The refusal may come back before the revoke's own reply: handled now, asserted below.
    waiting.catch(() => undefined);
    await sleep(300);
    await callUnary(via(1), LEASE_SERVICE.LeaseRevoke, { ID: waiterLease });
    await expect(waiting).rejects.toMatchObject({
      code: status.UNKNOWN,
      details: "mutex: session is expired",
    });
    await callUnary(via(0), LOCK_SERVICE.Unlock, { key: held.key });
  });

  it("a waiter past its deadline gives up and withdraws its key from the queue", async () => {
    const [holderLease, waiterLease] = [await grant(0), await grant(1)];
    const held = await lock(0, "deadline", holderLease);
    const error = (await lock(1, "deadline", waiterLease, 500).catch(
      (e: unknown) => e,
    )) as ServiceError;
    expect(error.code).toBe(status.DEADLINE_EXCEEDED);
    const waiterKey = bytes(`deadline/${waiterLease.toString(16)}`);
    for (let i = 0; i < 20 && (await createRevision(1, waiterKey)) !== 0; i++) await sleep(100);
    expect(await createRevision(1, waiterKey)).toBe(0);
    // The queue is not blocked: the next locker gets the lock right after the holder leaves.
    await callUnary(via(0), LOCK_SERVICE.Unlock, { key: held.key });
    const next = await lock(2, "deadline", await grant(2), 3_000);
    expect(text(next.key)).toMatch(/^deadline\//);
  });

  it("the etcd3 client's try-lock (Txn + lease) excludes a second locker", async () => {
    const [first, second] = [0, 1].map(
      (i) => new Etcd3({ hosts: `http://${cluster.members[i]?.client}` }),
    ) as [Etcd3, Etcd3];
    try {
      const held = first.lock("etcd3-lock");
      await held.acquire();
      await expect(second.lock("etcd3-lock").acquire()).rejects.toBeInstanceOf(EtcdLockFailedError);
      await held.release();
      const next = second.lock("etcd3-lock");
      await next.acquire();
      await next.release();
    } finally {
      first.close();
      second.close();
    }
  });
});
