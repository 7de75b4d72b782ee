// Platform locks: FIFO fairness, fencing tokens that only grow per name,
// TryAcquire that never queues, withdrawal, release through the lease revoke
// path (sharing the revoke's revision), and a model check against a plain
// queue per lock name under random acquire/release/revoke streams.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Command } from "../../../src/state/command.js";
import { LOCK_WAITERS_MAX } from "../../../src/state/platform/platform-locks.js";
import { okOf, put } from "../helpers.js";
import {
  acquire,
  clock,
  cluster,
  leaseGrant,
  leaseRevoke,
  ok,
  refused,
  release,
} from "./helpers.js";

describe("acquire and release", () => {
  it("queues in arrival order and hands over with a growing token", () => {
    const { sm, apply } = cluster();
    for (const lease of [1, 2, 3, 4]) apply(leaseGrant(lease));
    const first = ok(apply(acquire("ops", "deploy", 1)), "lock-acquire");
    expect(first).toMatchObject({ state: "held", token: first.revision, position: 0 });
    expect(
      [2, 3, 4].map((lease) => ok(apply(acquire("ops", "deploy", lease)), "lock-acquire").position),
    ).toEqual([1, 2, 3]);
    // Locks.Get: the holder with its token and the waiters in line order.
    expect(sm.platform.getLock("deploy")).toMatchObject({
      holder: { leaseId: 1, owner: "ops", token: first.token },
      waiters: [{ leaseId: 2 }, { leaseId: 3 }, { leaseId: 4 }],
    });
    const tokens = [first.token];
    for (const lease of [1, 2, 3]) {
      const handed = ok(apply(release("ops", "deploy", lease)), "lock-release");
      expect(handed.holder?.leaseId).toBe(lease + 1);
      expect(handed.holder?.token).toBe(handed.revision);
      tokens.push(handed.holder?.token ?? 0);
    }
    expect(tokens).toEqual([...tokens].sort((a, b) => a - b));
    expect(new Set(tokens).size).toBe(4);
    const last = ok(apply(release("ops", "deploy", 4)), "lock-release");
    expect(last.holder).toBeNull();
    expect(sm.platform.locks.get("deploy")).toBeUndefined();
    // A free lock taken again still gets a larger token than any before.
    expect(ok(apply(acquire("ops", "deploy", 1)), "lock-acquire").token).toBeGreaterThan(
      Math.max(...tokens),
    );
  });

  it("TryAcquire on a held lock answers busy and changes nothing", () => {
    const { sm, apply } = cluster();
    apply(leaseGrant(1));
    apply(leaseGrant(2));
    const held = ok(apply(acquire("ops", "deploy", 1)), "lock-acquire");
    const revision = sm.kv.revision;
    const busy = ok(apply(acquire("ops", "deploy", 2, false)), "lock-acquire");
    expect(busy).toMatchObject({
      state: "busy",
      token: 0,
      holder: { leaseId: 1, token: held.token },
    });
    expect(sm.kv.revision).toBe(revision);
    expect(sm.platform.locks.get("deploy")?.waiters).toEqual([]);
    expect(sm.platform.oplog.get(sm.platform.oplog.lastSequence)?.outcome).toBe("busy");
  });

  it("is idempotent for a lease already holding or waiting", () => {
    const { apply } = cluster();
    apply(leaseGrant(1));
    apply(leaseGrant(2));
    const held = ok(apply(acquire("ops", "deploy", 1)), "lock-acquire");
    apply(acquire("ops", "deploy", 2));
    expect(ok(apply(acquire("ops", "deploy", 1)), "lock-acquire")).toMatchObject({
      state: "held",
      token: held.token,
    });
    expect(ok(apply(acquire("ops", "deploy", 2)), "lock-acquire")).toMatchObject({
      state: "queued",
      position: 1,
    });
  });

  it("lets a waiter withdraw and refuses stale tokens and strangers", () => {
    const { sm, apply } = cluster();
    for (const lease of [1, 2, 3, 9]) apply(leaseGrant(lease));
    const held = ok(apply(acquire("ops", "deploy", 1)), "lock-acquire");
    apply(acquire("ops", "deploy", 2));
    apply(acquire("ops", "deploy", 3));
    expect(ok(apply(release("ops", "deploy", 2)), "lock-release").released).toBe("waiter");
    expect(sm.platform.locks.get("deploy")?.waiters.map((w) => w.leaseId)).toEqual([3]);
    expect(refused(apply(release("ops", "deploy", 1, held.token + 1)), "aborted")).toBe(
      `token ${held.token + 1} for lock "deploy" is stale: the holder's token is ${held.token}`,
    );
    expect(refused(apply(release("ops", "deploy", 9)), "failed-precondition")).toBe(
      'lease 9 neither holds nor waits for lock "deploy"',
    );
    expect(refused(apply(release("ops", "nope", 1)), "not-found")).toBe('lock "nope" is not held');
  });

  it("grants a lease for a TTL request, and refuses unknown leases and bad names", () => {
    const { sm, apply } = cluster();
    const held = ok(apply(acquire("ops", "deploy", 0, true, 30)), "lock-acquire");
    expect(sm.leases.get(held.leaseId)).toMatchObject({
      grantedTtlSeconds: 30,
      expiresAtMs: clock.at + 30_000,
    });
    expect(refused(apply(acquire("ops", "other", 77)), "not-found")).toBe("lease 77 not found");
    expect(refused(apply(acquire("ops", "bad name", 0, true, 30)), "invalid-argument")).toContain(
      "lock.name",
    );
    expect(refused(apply(acquire("ops", "other", 0, true, 0)), "invalid-argument")).toBe(
      "ttl_seconds must be 1..9000000000 when lease_id is 0, got 0",
    );
    // A TryAcquire that finds the lock busy grants no lease.
    const leases = sm.leases.size;
    apply(acquire("ops", "deploy", 0, false, 30));
    expect(sm.leases.size).toBe(leases);
  });

  it("bounds the queue", () => {
    const { apply } = cluster();
    for (let lease = 1; lease <= LOCK_WAITERS_MAX + 2; lease++) apply(leaseGrant(lease));
    for (let lease = 1; lease <= LOCK_WAITERS_MAX + 1; lease++)
      ok(apply(acquire("ops", "q", lease)), "lock-acquire");
    expect(
      refused(apply(acquire("ops", "q", LOCK_WAITERS_MAX + 2)), "failed-precondition"),
    ).toContain(`${LOCK_WAITERS_MAX} waiters`);
  });
});

describe("release on lease revoke", () => {
  it("hands the lock to the next waiter in the revoke's own revision", () => {
    const { sm, apply } = cluster();
    apply(leaseGrant(1));
    apply(leaseGrant(2));
    apply(put("session/key", "x", { lease: 1 }) as Command);
    apply(acquire("ops", "deploy", 1));
    apply(acquire("ops", "deploy", 2));
    apply(acquire("ops", "other", 1));
    const before = sm.kv.revision;
    const revoked = apply(leaseRevoke(1));
    expect(sm.kv.revision).toBe(before + 1);
    expect(revoked.events.map((e) => e.kv.modRevision)).toEqual([before + 1]);
    const lockEvents = (revoked.platform ?? []).filter((e) => e.table === "lock");
    expect(lockEvents.map((e) => e.revision)).toEqual([before + 1, before + 1]);
    expect(sm.platform.locks.get("deploy")?.holder).toMatchObject({
      leaseId: 2,
      token: before + 1,
    });
    expect(sm.platform.locks.get("other")).toBeUndefined();
    const records = sm.platform.oplog.query({
      target: "",
      actor: "system",
      action: "lock.release",
      fromMs: 0,
      toMs: 0,
      cursor: 0,
      order: "asc",
      limit: 10,
    }).records;
    expect(records.map((r) => [r.target, r.outcome, r.revision])).toEqual([
      ["lock/deploy", "lease-revoked", before + 1],
      ["lock/other", "lease-revoked", before + 1],
    ]);
  });

  it("bumps the revision once when the lease had no keys, and not at all when it had nothing", () => {
    const { sm, apply } = cluster();
    apply(leaseGrant(1));
    apply(leaseGrant(2));
    apply(acquire("ops", "deploy", 1));
    const before = sm.kv.revision;
    expect(okOf(apply(leaseRevoke(1)), "lease-revoke").revision).toBe(before + 1);
    expect(sm.kv.revision).toBe(before + 1);
    const idle = apply(leaseRevoke(2));
    expect(sm.kv.revision).toBe(before + 1);
    expect(idle.platform).toBeUndefined();
  });
});

/** A dumb oracle: one arrival-ordered queue of leases per lock name. */
class QueueModel {
  readonly queues = new Map<string, number[]>();
  acquire(name: string, lease: number, wait: boolean): void {
    const queue = this.queues.get(name) ?? [];
    if (queue.includes(lease) || (!wait && queue.length > 0)) return;
    this.queues.set(name, [...queue, lease]);
  }
  release(name: string, lease: number): void {
    const queue = (this.queues.get(name) ?? []).filter((l) => l !== lease);
    if (queue.length === 0) this.queues.delete(name);
    else this.queues.set(name, queue);
  }
  revoke(lease: number): void {
    for (const name of [...this.queues.keys()]) this.release(name, lease);
  }
}

// Acquires dominate so queues grow several deep before releases and revokes drain them.
const opArb = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("acquire" as const),
      name: fc.constantFrom("a", "b"),
      lease: fc.integer({ min: 1, max: 5 }),
      wait: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("release" as const),
      name: fc.constantFrom("a", "b"),
      lease: fc.integer({ min: 1, max: 5 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("revoke" as const),
      lease: fc.integer({ min: 1, max: 5 }),
    }),
  },
);

describe("model check", () => {
  it("matches a plain FIFO queue and never reuses or lowers a token", () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 10, maxLength: 50 }), (ops) => {
        const { sm, apply } = cluster();
        const model = new QueueModel();
        const live = new Set<number>();
        const lastToken = new Map<string, number>();
        const grant = (lease: number) => {
          if (!live.has(lease)) apply(leaseGrant(lease));
          live.add(lease);
        };
        for (const step of ops) {
          if (step.op === "revoke") {
            if (live.delete(step.lease)) apply(leaseRevoke(step.lease));
            model.revoke(step.lease);
          } else if (step.op === "acquire") {
            grant(step.lease);
            apply(acquire("ops", step.name, step.lease, step.wait));
            model.acquire(step.name, step.lease, step.wait);
          } else {
            apply(release("ops", step.name, step.lease));
            model.release(step.name, step.lease);
          }
          for (const name of ["a", "b"]) {
            const lock = sm.platform.locks.get(name);
            const queue =
              lock === undefined
                ? []
                : [lock.holder.leaseId, ...lock.waiters.map((w) => w.leaseId)];
            expect(queue).toEqual(model.queues.get(name) ?? []);
            if (lock === undefined) continue;
            const previous = lastToken.get(name) ?? 0;
            expect(lock.holder.token).toBeGreaterThanOrEqual(previous);
            lastToken.set(name, lock.holder.token);
          }
        }
      }),
      { numRuns: 80 },
    );
  });
});
