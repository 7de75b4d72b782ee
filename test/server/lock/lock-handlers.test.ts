// v3lock semantics over the real state machine (etcd-v3.md §3 "Locks"): the
// key and fencing revision, idempotent re-lock, FIFO by create revision with
// one waiter woken per release, the 3.5 re-check (#11408: a waiter whose lease
// died is refused, not granted), cancellation withdrawing the claim, unknown
// and absent leases.
import { describe, expect, it } from "vitest";
import { LockHandlers } from "../../../src/server/lock/lock-service.js";
import { SESSION_TTL_SECONDS } from "../../../src/server/lock/queue-claim.js";
import { bytes, FakeMember, queueDeps, settle, text } from "./fake-member.js";

function setup() {
  const member = new FakeMember();
  const deps = queueDeps(member);
  const locks = new LockHandlers(deps);
  const grant = async (leaseId: number, ttlSeconds = 30): Promise<number> => {
    const result = await member.propose({ kind: "lease-grant", leaseId, ttlSeconds });
    expect(result.kind).toBe("lease-grant");
    return leaseId;
  };
  const lock = (lease: number, signal = new AbortController().signal) => {
    const call = locks.lock({ name: bytes("job"), lease } as never, signal);
    let state = "pending";
    let key = "";
    call.then(
      (response) => {
        state = "held";
        key = text(response.key as Uint8Array);
      },
      (error: unknown) => {
        state = `failed: ${(error as Error).message}`;
      },
    );
    return { call, state: () => state, key: () => key };
  };
  const unlock = (key: string) => locks.unlock({ key: bytes(key) } as never);
  return { member, deps, grant, lock, unlock };
}

describe("Lock", () => {
  it("claims <name>/<lease hex> under the lease; the header revision is the fencing token", async () => {
    const { member, grant, lock } = setup();
    await grant(0xabc);
    const response = await lock(0xabc).call;
    expect(text(response.key as Uint8Array)).toBe("job/abc");
    const kv = member.get(bytes("job/abc"));
    expect(kv?.lease).toBe(0xabc);
    expect(response.header?.revision).toBe(kv?.createRevision);
  });

  it("re-locking with the same lease is a no-op that returns the same key", async () => {
    const { member, grant, lock } = setup();
    await grant(1);
    await lock(1).call;
    const revision = member.stateMachine.kv.revision;
    const again = await lock(1).call;
    expect(text(again.key as Uint8Array)).toBe("job/1");
    expect(member.stateMachine.kv.revision).toBe(revision);
  });

  it("serves waiters in FIFO order and wakes only the next one per release", async () => {
    const { deps, grant, lock, unlock } = setup();
    for (const id of [1, 2, 3]) await grant(id);
    const first = lock(1);
    await first.call;
    const second = lock(2);
    const third = lock(3);
    await settle();
    expect([second.state(), third.state()]).toEqual(["pending", "pending"]);
    expect(deps.deletes.size).toBe(2);
    await unlock("job/1");
    await settle();
    expect([second.state(), third.state()]).toEqual(["held", "pending"]);
    expect(second.key()).toBe("job/2");
    await unlock("job/2");
    await settle();
    expect(third.state()).toBe("held");
    expect(deps.deletes.size).toBe(0);
  });

  it("a waiter behind a vanished middle waiter moves up to the next older key", async () => {
    const { member, grant, lock, unlock } = setup();
    for (const id of [1, 2, 3]) await grant(id);
    await lock(1).call;
    const second = lock(2);
    const third = lock(3);
    await settle();
    await member.propose({ kind: "lease-revoke", leaseId: 2 });
    await settle();
    expect(second.state()).toBe("failed: mutex: session is expired");
    expect(third.state()).toBe("pending");
    await unlock("job/1");
    await settle();
    expect(third.state()).toBe("held");
  });

  it("refuses a waiter whose lease died while it waited, even once the holder leaves (#11408)", async () => {
    const { member, grant, lock, unlock } = setup();
    await grant(1);
    await grant(2);
    await lock(1).call;
    const waiter = lock(2);
    await settle();
    // The expiry driver's revoke of the waiter's lease lands, then the holder unlocks.
    await member.propose({ kind: "lease-revoke", leaseId: 2 });
    await unlock("job/1");
    await settle();
    expect(waiter.state()).toBe("failed: mutex: session is expired");
    expect(member.get(bytes("job/2"))).toBeUndefined();
  });

  it("hands the lock to the next waiter when the holder's lease is revoked", async () => {
    const { member, grant, lock } = setup();
    await grant(1);
    await grant(2);
    await lock(1).call;
    const waiter = lock(2);
    await settle();
    await member.propose({ kind: "lease-revoke", leaseId: 1 });
    await settle();
    expect(waiter.state()).toBe("held");
  });

  it("a cancelled waiter withdraws its key so it never blocks the queue", async () => {
    const { member, deps, grant, lock, unlock } = setup();
    for (const id of [1, 2, 3]) await grant(id);
    await lock(1).call;
    const controller = new AbortController();
    const cancelled = lock(2, controller.signal);
    const third = lock(3);
    await settle();
    controller.abort(new Error("cancelled by client"));
    await settle();
    expect(cancelled.state()).toBe("failed: cancelled by client");
    expect(member.get(bytes("job/2"))).toBeUndefined();
    expect(third.state()).toBe("pending");
    await unlock("job/1");
    await settle();
    expect(third.state()).toBe("held");
    expect(deps.deletes.size).toBe(0);
  });

  it("a call cancelled before its claim landed does not keep a lock nobody knows it holds", async () => {
    const { member, grant, lock } = setup();
    await grant(1);
    const controller = new AbortController();
    controller.abort(new Error("client gone"));
    await expect(lock(1, controller.signal).call).rejects.toThrow("client gone");
    expect(member.get(bytes("job/1"))).toBeUndefined();
  });

  it("a cancelled re-lock leaves the key of the call that created it", async () => {
    const { member, grant, lock } = setup();
    await grant(1);
    await grant(2);
    await lock(1).call;
    const original = lock(2);
    const controller = new AbortController();
    const repeat = lock(2, controller.signal);
    await settle();
    controller.abort(new Error("gave up"));
    await settle();
    expect(repeat.state()).toBe("failed: gave up");
    expect(original.state()).toBe("pending");
    expect(member.get(bytes("job/2"))).toBeDefined();
  });

  it("fails with etcd's error for an unknown lease and grants a session lease for lease 0", async () => {
    const { member, lock } = setup();
    await expect(lock(42).call).rejects.toThrow("etcdserver: requested lease not found");
    await expect(lock(-5).call).rejects.toThrow("etcdserver: requested lease not found");
    const response = await lock(0).call;
    const kv = member.get(response.key as Uint8Array);
    expect(kv?.lease).toBeGreaterThan(0);
    expect(member.stateMachine.leases.get(kv?.lease ?? 0)?.grantedTtlSeconds).toBe(
      SESSION_TTL_SECONDS,
    );
  });

  it("Unlock deletes the key and needs one", async () => {
    const { member, grant, lock, unlock } = setup();
    await grant(1);
    await lock(1).call;
    await unlock("job/1");
    expect(member.get(bytes("job/1"))).toBeUndefined();
    await expect(unlock("")).rejects.toThrow("etcdserver: key is not provided");
  });
});
