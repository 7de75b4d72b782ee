// Leases (reference/etcd-v3.md §3 "Leases"): grant, revoke deleting the
// attached keys in one revision, keep-alive through Raft with an absolute
// expiry, time-to-live, expiry listing, attachment moves, and ids picked
// deterministically for id 0.
import { describe, expect, it } from "vitest";
import { candidateLeaseId, LEASE_ID_MAX } from "../../src/state/lease-table.js";
import { StateMachine } from "../../src/state/state-machine.js";
import {
  del,
  grant,
  keysOf,
  okOf,
  put,
  putOp,
  query,
  rangeOk,
  renew,
  revoke,
  run,
  text,
  txn,
} from "./helpers.js";

describe("grant", () => {
  it("stores the TTL as sent and does not bump the revision", () => {
    const sm = new StateMachine();
    const applied = sm.apply(grant(10, 1, 5_000));
    expect(okOf(applied, "lease-grant")).toEqual({ revision: 1, id: 10, ttlSeconds: 1 });
    expect(sm.leases.get(10)).toEqual({ id: 10, grantedTtlSeconds: 1, expiresAtMs: 6_000 });
    expect(sm.kv.revision).toBe(1);
    expect(applied.events).toEqual([]);
  });

  it("a duplicate id fails with lease-exists", () => {
    const { sm } = run([grant(10, 60)]);
    expect(sm.apply(grant(10, 30))).toEqual({
      result: { kind: "error", code: "lease-exists" },
      writes: [],
      events: [],
    });
    expect(sm.leases.get(10)?.grantedTtlSeconds).toBe(60);
  });

  it("id 0 picks a positive id below 2^53, the same on every member", () => {
    const command = grant(0, 60);
    const one = okOf(new StateMachine().apply(command), "lease-grant");
    const two = okOf(new StateMachine().apply(command), "lease-grant");
    expect(one.id).toBe(two.id);
    expect(one.id).toBeGreaterThan(0);
    expect(one.id).toBeLessThanOrEqual(LEASE_ID_MAX);
    expect(Number.isSafeInteger(one.id)).toBe(true);
  });

  it("id 0 probes past an id that is already taken", () => {
    const command = grant(0, 60);
    const taken = candidateLeaseId(command.id, 1, 0);
    const sm = new StateMachine();
    sm.apply(grant(taken, 60));
    const picked = okOf(sm.apply(command), "lease-grant").id;
    expect(picked).not.toBe(taken);
    expect(picked).toBe(candidateLeaseId(command.id, 1, 1));
  });
});

describe("attachment", () => {
  it("a put attaches the key; re-putting with another lease moves it", () => {
    const { sm } = run([grant(1, 60), grant(2, 60), put("k", "v", { lease: 1 })]);
    expect(sm.leases.attachedKeys(1)).toEqual(["k"]);
    sm.apply(put("k", "v2", { lease: 2 }));
    expect(sm.leases.attachedKeys(1)).toEqual([]);
    expect(sm.leases.attachedKeys(2)).toEqual(["k"]);
  });

  it("a put without lease detaches; ignore_lease keeps the lease", () => {
    const { sm } = run([
      grant(1, 60),
      put("k", "v", { lease: 1 }),
      put("k", "v2", { ignoreLease: true }),
    ]);
    expect(sm.leases.attachedKeys(1)).toEqual(["k"]);
    sm.apply(put("k", "v3"));
    expect(sm.leases.attachedKeys(1)).toEqual([]);
  });

  it("deleting a key detaches it", () => {
    const { sm } = run([
      grant(1, 60),
      put("a", "v", { lease: 1 }),
      put("b", "v", { lease: 1 }),
      del("a"),
    ]);
    expect(sm.leases.attachedKeys(1)).toEqual(["b"]);
  });

  it("puts inside a txn attach too", () => {
    const { sm } = run([grant(1, 60), txn([], [putOp("t", "v", { lease: 1 })])]);
    expect(sm.leases.attachedKeys(1)).toEqual(["t"]);
  });
});

describe("revoke", () => {
  it("deletes every attached key in one revision, in key order, then forgets the lease", () => {
    const { sm } = run([
      grant(1, 60),
      put("z", "1", { lease: 1 }),
      put("other", "x"),
      put("a", "2", { lease: 1 }),
      put("m", "3", { lease: 1 }),
    ]);
    const applied = sm.apply(revoke(1));
    expect(okOf(applied, "lease-revoke")).toEqual({ revision: 6, deleted: 3 });
    expect(applied.events.map((e) => [e.type, text(e.kv.key), e.kv.modRevision])).toEqual([
      ["delete", "a", 6],
      ["delete", "m", 6],
      ["delete", "z", 6],
    ]);
    expect(applied.events.map((e) => text(e.prevKv?.value ?? new Uint8Array()))).toEqual([
      "2",
      "3",
      "1",
    ]);
    expect(keysOf(rangeOk(sm.range(query("\0", "\0"))).kvs)).toEqual(["other"]);
    expect(sm.leases.has(1)).toBe(false);
  });

  it("a lease without keys is revoked without a new revision", () => {
    const { sm } = run([grant(1, 60)]);
    expect(okOf(sm.apply(revoke(1)), "lease-revoke")).toEqual({ revision: 1, deleted: 0 });
  });

  it("an unknown lease fails with lease-not-found", () => {
    expect(new StateMachine().apply(revoke(3)).result).toEqual({
      kind: "error",
      code: "lease-not-found",
    });
  });

  it("after a revoke, a put with that lease fails", () => {
    const { sm } = run([grant(1, 60), revoke(1)]);
    expect(sm.apply(put("k", "v", { lease: 1 })).result).toEqual({
      kind: "error",
      code: "lease-not-found",
    });
  });
});

describe("keep-alive and time to live", () => {
  it("renew sets expiry to the proposer's clock plus the granted TTL", () => {
    const { sm } = run([grant(1, 10, 1_000)]);
    const applied = sm.apply(renew(1, 8_000));
    expect(okOf(applied, "lease-renew")).toEqual({ revision: 1, id: 1, ttlSeconds: 10 });
    expect(sm.leases.get(1)?.expiresAtMs).toBe(18_000);
    expect(applied.writes).toHaveLength(1);
  });

  it("renew of an unknown lease, or one expired by the proposer's clock, fails", () => {
    const { sm } = run([grant(1, 10, 0)]);
    expect(sm.apply(renew(2, 0)).result).toEqual({ kind: "error", code: "lease-not-found" });
    expect(sm.apply(renew(1, 10_000)).result).toEqual({ kind: "error", code: "lease-not-found" });
    expect(sm.leases.get(1)?.expiresAtMs).toBe(10_000);
  });

  it("timeToLive reports whole remaining seconds, the granted TTL and the keys", () => {
    const { sm } = run([grant(1, 10, 0), put("b", "v", { lease: 1 }), put("a", "v", { lease: 1 })]);
    const ttl = sm.timeToLive(1, 2_500);
    expect({ ...ttl, keys: ttl.keys.map(text) }).toEqual({
      id: 1,
      ttlSeconds: 7,
      grantedTtlSeconds: 10,
      keys: ["a", "b"],
    });
    expect(sm.timeToLive(1, 60_000).ttlSeconds).toBe(0);
  });

  it("timeToLive of an unknown lease is -1", () => {
    expect(new StateMachine().timeToLive(4, 0)).toEqual({
      id: 4,
      ttlSeconds: -1,
      grantedTtlSeconds: 0,
      keys: [],
    });
  });
});

describe("listing", () => {
  it("leases() lists every id ascending", () => {
    const { sm } = run([grant(30, 5), grant(2, 5), grant(11, 5)]);
    expect(sm.leases.leases()).toEqual([2, 11, 30]);
  });

  it("expired() returns due leases, soonest first, ties by id, bounded", () => {
    const { sm } = run([grant(5, 10, 0), grant(4, 5, 0), grant(3, 5, 1_000), grant(9, 100, 0)]);
    // Expiries: 4 → 5s, 3 → 6s, 5 → 10s, 9 → 100s.
    expect(sm.leases.expired(4_999, 10)).toEqual([]);
    expect(sm.leases.expired(5_000, 10)).toEqual([4]);
    expect(sm.leases.expired(10_000, 10)).toEqual([4, 3, 5]);
    expect(sm.leases.expired(10_000, 2)).toEqual([4, 3]);
    sm.apply(grant(1, 5, 0));
    expect(sm.leases.expired(10_000, 2)).toEqual([1, 4]);
  });

  it("a renewed lease is no longer expired", () => {
    const { sm } = run([grant(1, 5, 0), renew(1, 4_000)]);
    expect(sm.leases.expired(5_000, 10)).toEqual([]);
    expect(sm.leases.expired(9_000, 10)).toEqual([1]);
  });
});
