// LeaseGrant's request rules (etcd-v3.md §3 "Leases"): minimum TTL
// ceil(1.5 × election timeout), raised not refused; "too large lease TTL"
// above 9e9 s, checked first; ids 0 (server picks) or exact positive integers.
import { describe, expect, it } from "vitest";
import { CairnError } from "../../../src/server/errors.js";
import {
  isLeaseId,
  LEASE_TTL_MAX_SECONDS,
  minLeaseTtlSeconds,
  planGrant,
} from "../../../src/server/lease/ttl.js";

describe("lease TTL rules", () => {
  it("derives etcd's minimum from the election timeout", () => {
    expect(minLeaseTtlSeconds(1000)).toBe(2);
    expect(minLeaseTtlSeconds(100)).toBe(1);
    expect(minLeaseTtlSeconds(5000)).toBe(8);
    expect(() => minLeaseTtlSeconds(0)).toThrow(/positive/);
  });

  it("raises short, zero and negative TTLs to the minimum and keeps longer ones", () => {
    expect(planGrant(0, 1, 2)).toEqual({ leaseId: 0, ttlSeconds: 2 });
    expect(planGrant(0, 0, 2)).toEqual({ leaseId: 0, ttlSeconds: 2 });
    expect(planGrant(0, -30, 2)).toEqual({ leaseId: 0, ttlSeconds: 2 });
    expect(planGrant(7, 60, 2)).toEqual({ leaseId: 7, ttlSeconds: 60 });
    expect(planGrant(7, LEASE_TTL_MAX_SECONDS, 2).ttlSeconds).toBe(9_000_000_000);
  });

  it('refuses TTLs above 9e9 s with "too large lease TTL", before any other check', () => {
    const refuse = (id: number) => () => planGrant(id, LEASE_TTL_MAX_SECONDS + 1, 2);
    expect(refuse(0)).toThrow("etcdserver: too large lease TTL");
    expect(refuse(-1)).toThrow("etcdserver: too large lease TTL");
    try {
      refuse(0)();
    } catch (error) {
      expect((error as CairnError).code).toBe("LEASE_TTL_TOO_LARGE");
    }
  });

  it("accepts id 0 or an exact positive integer, and says what is allowed otherwise", () => {
    expect(isLeaseId(1)).toBe(true);
    expect(isLeaseId(Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(isLeaseId(0)).toBe(false);
    expect(isLeaseId(-3)).toBe(false);
    expect(isLeaseId(2 ** 60)).toBe(false);
    expect(() => planGrant(-3, 10, 2)).toThrow(/lease ID must be 0 \(server picks\) or 1\.\./);
    expect(() => planGrant(2 ** 60, 10, 2)).toThrow(CairnError);
  });
});
