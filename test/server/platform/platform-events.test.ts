// The platform feed and the waits built on it: readers never read past the
// last published op-log record (the apply → disk → publish gap), park until
// it moves and leave on abort; a feed built mid-batch does not trip; queued
// Acquires wake on their lock's changes, and a timed-out one withdraws its
// place and revokes the lease it was granted.
import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { cairn } from "../../../src/gen/cairn.js";
import { toServiceError } from "../../../src/server/errors.js";
import { LockWaits } from "../../../src/server/platform/lock-waits.js";
import { LockHandlers } from "../../../src/server/platform/locks.js";
import { PlatformFeed } from "../../../src/server/platform/platform-events.js";
import { contextFor, FakePlatformNode, platformDeps, seedUser } from "./fake-node.js";

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("PlatformFeed", () => {
  it("reads only what was published, and wakes parked readers when more is", async () => {
    const node = new FakePlatformNode();
    const deps = platformDeps(node);
    await seedUser(node, "alice", []);
    const published = deps.feed.publishedSequence;
    expect(published).toBe(node.stateMachine.platform.oplog.lastSequence);
    node.holdPublish = true;
    await seedUser(node, "bob", [], "alice");
    expect(node.stateMachine.platform.oplog.lastSequence).toBe(published + 2);
    const got: { records: readonly { sequence: number }[] | null } = { records: null };
    const reading = deps.feed.read(published + 1, new AbortController().signal).then((r) => {
      got.records = r;
    });
    await settle();
    expect(got.records).toBeNull(); // applied, not yet published: not readable
    node.publishHeld();
    await reading;
    expect(got.records?.map((r) => r.sequence)).toEqual([published + 1, published + 2]);
    const fromOne = await deps.feed.read(1, new AbortController().signal);
    expect(fromOne[0]?.sequence).toBe(1);
    expect(fromOne[fromOne.length - 1]?.sequence).toBe(published + 2);
  });

  it("lets a parked reader go on abort", async () => {
    const node = new FakePlatformNode();
    const deps = platformDeps(node);
    const controller = new AbortController();
    const reading = deps.feed.read(deps.feed.publishedSequence + 1, controller.signal);
    await settle();
    expect(deps.feed.readerCount).toBe(1);
    controller.abort(new Error("client left"));
    await expect(reading).rejects.toThrow("client left");
    expect(deps.feed.readerCount).toBe(0);
  });

  it("checks since_sequence and starts a watch from now at P + 1", async () => {
    const node = new FakePlatformNode();
    const deps = platformDeps(node);
    await seedUser(node, "alice", []);
    expect(deps.feed.startSequence(0)).toBe(deps.feed.publishedSequence + 1);
    expect(deps.feed.startSequence(1)).toBe(1);
    expect(toServiceError(catching(() => deps.feed.startSequence(-1)))).toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: "since_sequence must be 0 (from now) or an op-log sequence, got -1",
    });
  });

  it("tolerates being built between an apply and its publish", async () => {
    const node = new FakePlatformNode();
    await seedUser(node, "alice", []);
    node.holdPublish = true;
    await seedUser(node, "bob", [], "alice");
    const feed = new PlatformFeed(node.asNode());
    expect(feed.publishedSequence).toBe(node.stateMachine.platform.oplog.lastSequence);
    node.publishHeld(); // records the feed already counts: no double count, no assertion
    expect(feed.publishedSequence).toBe(node.stateMachine.platform.oplog.lastSequence);
  });
});

describe("PlatformFeed across a snapshot install", () => {
  it("jumps P to the new state, wakes readers it passes, and publishes what follows", async () => {
    const follower = new FakePlatformNode();
    const deps = platformDeps(follower);
    const start = deps.feed.publishedSequence;
    const reading = deps.feed.read(start + 1, new AbortController().signal);
    const leader = new FakePlatformNode();
    await seedUser(leader, "alice", []);
    await seedUser(leader, "bob", [], "alice");
    follower.replaceState(leader.stateMachine);
    expect(deps.feed.publishedSequence).toBe(leader.stateMachine.platform.oplog.lastSequence);
    expect((await reading)[0]?.sequence).toBe(start + 1);
    // The first record applied after the install follows the jump: no in-order assertion.
    await seedUser(follower, "carol", [], "alice");
    expect(deps.feed.publishedSequence).toBe(follower.stateMachine.platform.oplog.lastSequence);
  });

  it("wakes every lock waiter, since its lock's release may be inside the snapshot", async () => {
    const follower = new FakePlatformNode();
    const deps = platformDeps(follower);
    const waits = new LockWaits(deps.feed);
    const woken: string[] = [];
    const signal = new AbortController().signal;
    const both = Promise.all(
      ["a", "b"].map((name) => waits.next(name, signal).then(() => woken.push(name))),
    );
    await settle();
    expect(woken).toEqual([]);
    follower.replaceState(new FakePlatformNode().stateMachine);
    await both;
    expect(woken.sort()).toEqual(["a", "b"]);
    expect(waits.size).toBe(0);
  });
});

function catching(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

describe("Locks.Acquire waits", () => {
  const acquire = (name: string, extra: Partial<cairn.v1.AcquireLockRequest.$Properties> = {}) =>
    cairn.v1.AcquireLockRequest.create({ name, ttlSeconds: 30, ...extra });

  it("wakes a queued Acquire when the holder releases, in line order", async () => {
    const node = new FakePlatformNode();
    const deps = platformDeps(node);
    const locks = new LockHandlers(deps);
    const alice = await contextFor(deps, await seedUser(node, "alice", []));
    const bob = await contextFor(deps, await seedUser(node, "bob", ["operator"], "alice"));
    const held = await locks.acquire(acquire("deploy"), alice, true);
    expect(held.acquired).toBe(true);
    const order: string[] = [];
    const bobWaits = locks.acquire(acquire("deploy"), bob, true).then((r) => {
      order.push("bob");
      return r;
    });
    await settle();
    const aliceAgain = locks.acquire(acquire("deploy"), alice, true).then((r) => {
      order.push("alice");
      return r;
    });
    await settle();
    expect(order).toEqual([]);
    const release = cairn.v1.ReleaseLockRequest.create({
      name: "deploy",
      leaseId: held.leaseId ?? 0,
    });
    const released = await locks.release(release, alice);
    expect(released.nextHolder?.owner).toBe("bob");
    const bobHeld = await bobWaits;
    expect(bobHeld).toMatchObject({ acquired: true, holder: { owner: "bob" } });
    expect(bobHeld.token).toBeGreaterThan(held.token ?? 0);
    await locks.release(
      cairn.v1.ReleaseLockRequest.create({ name: "deploy", leaseId: bobHeld.leaseId ?? 0 }),
      bob,
    );
    expect((await aliceAgain).acquired).toBe(true);
    expect(order).toEqual(["bob", "alice"]);
  });

  it("withdraws at its timeout and revokes the lease it was granted", async () => {
    const node = new FakePlatformNode();
    const deps = platformDeps(node);
    const locks = new LockHandlers(deps);
    const alice = await contextFor(deps, await seedUser(node, "alice", []));
    await locks.acquire(acquire("busy"), alice, true);
    const refused = await locks.acquire(acquire("busy", { timeoutMs: 20 }), alice, true).then(
      () => null,
      (error: unknown) => toServiceError(error),
    );
    expect(refused?.code).toBe(status.DEADLINE_EXCEEDED);
    expect(refused?.details).toMatch(
      /^lock "busy" was not acquired within \d+ ms; its place in line was withdrawn$/,
    );
    expect(node.stateMachine.platform.getLock("busy")?.waiters).toEqual([]);
    const revoked = node.proposals.filter((p) => p.kind === "lease-revoke");
    expect(revoked).toHaveLength(1);
    expect(node.stateMachine.leases.has((revoked[0] as { leaseId: number }).leaseId)).toBe(false);
  });

  it("gives back what a call cancelled while proposing got", async () => {
    const node = new FakePlatformNode();
    const deps = platformDeps(node);
    const locks = new LockHandlers(deps);
    const token = await seedUser(node, "alice", []);
    const controller = new AbortController();
    controller.abort(new Error("client left"));
    const gone = await contextFor(deps, token, controller.signal);
    await expect(locks.acquire(acquire("free"), gone, true)).rejects.toThrow("client left");
    expect(node.stateMachine.platform.getLock("free")).toBeUndefined();
    const holder = await locks.acquire(acquire("taken"), await contextFor(deps, token), true);
    await expect(locks.acquire(acquire("taken"), gone, true)).rejects.toThrow("client left");
    expect(node.stateMachine.platform.getLock("taken")).toMatchObject({
      holder: { leaseId: holder.leaseId },
      waiters: [],
    });
    const granted = node.proposals.filter((p) => p.kind === "lease-revoke");
    expect(granted).toHaveLength(2);
  });

  it("withdraws when the call is cancelled, and keeps a caller's own lease", async () => {
    const node = new FakePlatformNode();
    const deps = platformDeps(node);
    const locks = new LockHandlers(deps);
    const alice = await contextFor(deps, await seedUser(node, "alice", []));
    const first = await locks.acquire(acquire("busy"), alice, true);
    const second = await locks.acquire(acquire("other"), alice, true);
    const controller = new AbortController();
    const cancelled = await contextFor(deps, "token-of-alice", controller.signal);
    const waiting = locks.acquire(
      acquire("busy", { leaseId: second.leaseId ?? 0 }),
      cancelled,
      true,
    );
    await settle();
    expect(node.stateMachine.platform.getLock("busy")?.waiters).toHaveLength(1);
    controller.abort(new Error("client left"));
    await expect(waiting).rejects.toThrow("client left");
    expect(node.stateMachine.platform.getLock("busy")?.waiters).toEqual([]);
    expect(node.stateMachine.leases.has(second.leaseId ?? 0)).toBe(true);
    expect(node.stateMachine.platform.getLock("busy")?.holder.leaseId).toBe(first.leaseId);
  });
});
