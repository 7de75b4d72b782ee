// The leader-only lease expiry driver: rounds every 500 ms exactly while this
// member leads, revokes due leases after the renewal grace and only once the
// log of the previous round is applied, at most REVOKES_PER_ROUND_MAX per round
// and never two in flight for one lease.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  EXPIRY_ROUND_MS,
  ExpiryDriver,
  type ExpirySource,
  planRound,
  REVOKE_GRACE_MS,
  REVOKES_IN_FLIGHT_MAX,
  REVOKES_PER_ROUND_MAX,
} from "../../../src/server/lease/expiry-driver.js";
import type { Logger } from "../../../src/server/logger.js";
import type { LeadershipListener } from "../../../src/server/raft-node.js";

const quiet = { debug: () => undefined } as unknown as Logger;

describe("planRound", () => {
  const base = { expired: [1, 2, 3], inFlight: new Set<number>(), appliedIndex: 10, gateIndex: 10 };

  it("revokes every due lease not already in flight", () => {
    expect(planRound(base)).toEqual([1, 2, 3]);
    expect(planRound({ ...base, inFlight: new Set([2]) })).toEqual([1, 3]);
  });

  it("revokes nothing until the previous round's log is applied", () => {
    expect(planRound({ ...base, appliedIndex: 9 })).toEqual([]);
  });

  it("is bounded per round and by the revokes in flight", () => {
    const many = Array.from({ length: 2 * REVOKES_PER_ROUND_MAX }, (_, i) => i + 1);
    expect(planRound({ ...base, expired: many })).toHaveLength(REVOKES_PER_ROUND_MAX);
    const busy = new Set(Array.from({ length: REVOKES_IN_FLIGHT_MAX - 3 }, (_, i) => -i - 1));
    expect(planRound({ ...base, expired: many, inFlight: busy })).toEqual([1, 2, 3]);
  });
});

class FakeSource implements ExpirySource {
  isLeader = false;
  appliedIndex = 0;
  lastLogIndex = 0;
  /** lease id → expiry (ms, on the fake clock). */
  readonly leases = new Map<number, number>();
  readonly revoked: number[] = [];
  readonly settle: Array<() => void> = [];
  private readonly listeners: LeadershipListener[] = [];

  onLeadership(listener: LeadershipListener): void {
    this.listeners.push(listener);
  }
  lead(isLeader: boolean): void {
    this.isLeader = isLeader;
    for (const listener of this.listeners) {
      listener({ leader: isLeader ? 1 : 2, role: isLeader ? "leader" : "follower" });
    }
  }
  expired(nowMs: number, max: number): number[] {
    return [...this.leases]
      .filter(([, at]) => at <= nowMs)
      .map(([id]) => id)
      .slice(0, max);
  }
  revoke(leaseId: number): Promise<unknown> {
    this.revoked.push(leaseId);
    return new Promise<void>((resolve) =>
      this.settle.push(() => {
        this.leases.delete(leaseId);
        resolve();
      }),
    );
  }
}

describe("ExpiryDriver", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("runs only while leading, revokes once expired, and one revoke per lease at a time", async () => {
    const source = new FakeSource();
    const driver = new ExpiryDriver(source, quiet);
    driver.start();
    source.leases.set(7, 1_000);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(driver.running).toBe(false);
    expect(source.revoked).toEqual([]);

    source.lead(true);
    source.leases.set(8, 3_200);
    source.leases.set(9, 3_700);
    expect(driver.running).toBe(true);
    // Round at 3500: leases 7 and 8 are expired (no grace: the revoke re-checks at apply), 9 is not.
    await vi.advanceTimersByTimeAsync(EXPIRY_ROUND_MS);
    expect(source.revoked).toEqual([7, 8]);
    // Neither revoke has applied yet: the next round must not repeat them, and takes 9.
    await vi.advanceTimersByTimeAsync(EXPIRY_ROUND_MS);
    expect(source.revoked).toEqual([7, 8, 9]);
    expect(driver.revokesInFlight).toBe(3);
    for (const done of source.settle) done();
    await vi.advanceTimersByTimeAsync(2 * EXPIRY_ROUND_MS);
    expect(source.revoked).toEqual([7, 8, 9]);
    expect(driver.revokesInFlight).toBe(0);
  });

  it("waits for the previous round's log to be applied", async () => {
    const source = new FakeSource();
    const driver = new ExpiryDriver(source, quiet);
    source.lastLogIndex = 5;
    source.appliedIndex = 3;
    source.isLeader = true;
    driver.start();
    source.leases.set(1, -REVOKE_GRACE_MS);
    await vi.advanceTimersByTimeAsync(2 * EXPIRY_ROUND_MS);
    expect(source.revoked).toEqual([]);
    source.appliedIndex = 5;
    await vi.advanceTimersByTimeAsync(EXPIRY_ROUND_MS);
    expect(source.revoked).toEqual([1]);
  });

  it("stops on losing leadership and on stop()", async () => {
    const source = new FakeSource();
    const driver = new ExpiryDriver(source, quiet);
    source.isLeader = true;
    driver.start();
    expect(driver.running).toBe(true);
    source.lead(false);
    expect(driver.running).toBe(false);
    source.leases.set(1, 0);
    await vi.advanceTimersByTimeAsync(5 * EXPIRY_ROUND_MS);
    expect(source.revoked).toEqual([]);
    source.lead(true);
    expect(driver.running).toBe(true);
    driver.stop();
    expect(driver.running).toBe(false);
    source.lead(true);
    expect(driver.running).toBe(false);
  });
});
