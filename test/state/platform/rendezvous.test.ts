// Weighted rendezvous hashing (reference/raft.md §5): the same owners for the
// same member set on every call and in any input order; a join to N members
// moves about 1/(N+1) of keys, all to the newcomer; a removal moves exactly
// the removed member's keys; weights skew ownership proportionally.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  locate,
  MOVE_SAMPLE_KEYS,
  movedFraction,
  murmur3,
  OwnerTable,
  primaryOwners,
  type RendezvousMember,
} from "../../../src/state/platform/rendezvous.js";

const KEYS = Array.from({ length: 20_000 }, (_, i) => `user:${i}`);
const members = (n: number, weight = 1): RendezvousMember[] =>
  Array.from({ length: n }, (_, i) => ({ id: `node-${i}`, weight }));

function shares(owners: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const owner of owners) counts.set(owner, (counts.get(owner) ?? 0) + 1);
  return new Map([...counts].map(([id, count]) => [id, count / owners.length]));
}

describe("murmur3", () => {
  it.each([
    ["", 0, 0],
    ["", 1, 0x514e28b7],
    ["abc", 0, 0xb3dd93fa],
    ["hello", 0, 0x248bfa47],
    ["The quick brown fox jumps over the lazy dog", 0, 0x2e4ff723],
  ])("matches the reference digest of %j (seed %d)", (text, seed, digest) => {
    const bytes = new TextEncoder().encode(text);
    expect(murmur3(bytes, bytes.length, seed)).toBe(digest);
  });
});

describe("locate", () => {
  it("gives the same owners for the same member set, in any order and on every call", () => {
    const set = members(7);
    const reversed = [...set].reverse();
    for (const key of KEYS.slice(0, 500)) {
      const owners = locate(set, key, 3);
      expect(locate(reversed, key, 3)).toEqual(owners);
      expect(locate(set, key, 3)).toEqual(owners);
      expect(new Set(owners).size).toBe(3);
    }
    expect(primaryOwners(set, KEYS.slice(0, 500))).toEqual(
      KEYS.slice(0, 500).map((k) => locate(set, k, 1)[0]),
    );
  });

  it("returns at most the members there are", () => {
    expect(locate(members(2), "k", 5)).toHaveLength(2);
    expect(locate([], "k", 1)).toEqual([]);
  });

  it("balances equal members within a few percent", () => {
    const owned = shares(primaryOwners(members(10), KEYS));
    for (const share of owned.values()) expect(Math.abs(share - 0.1)).toBeLessThan(0.01);
  });

  it("moves about 1/(N+1) of keys on a join, all of them to the newcomer", () => {
    for (const n of [4, 10]) {
      const before = members(n);
      const after = [...before, { id: "newcomer", weight: 1 }];
      const was = primaryOwners(before, KEYS);
      const now = primaryOwners(after, KEYS);
      const moved = KEYS.filter((_, i) => was[i] !== now[i]);
      expect(Math.abs(moved.length / KEYS.length - 1 / (n + 1))).toBeLessThan(0.012);
      expect(KEYS.every((_, i) => was[i] === now[i] || now[i] === "newcomer")).toBe(true);
    }
  });

  it("moves exactly the removed member's keys on a removal", () => {
    const before = members(10);
    const after = before.filter((m) => m.id !== "node-3");
    const was = primaryOwners(before, KEYS);
    const now = primaryOwners(after, KEYS);
    const moved = KEYS.filter((_, i) => was[i] !== now[i]).length;
    const owned = was.filter((owner) => owner === "node-3").length;
    expect(moved).toBe(owned);
    expect(KEYS.every((_, i) => was[i] === "node-3" || was[i] === now[i])).toBe(true);
  });

  it("skews ownership in proportion to weight", () => {
    const weighted = [1, 2, 3, 4].map((weight) => ({ id: `w${weight}`, weight }));
    const owned = shares(primaryOwners(weighted, KEYS));
    for (const { id, weight } of weighted)
      expect(Math.abs((owned.get(id) ?? 0) - weight / 10)).toBeLessThan(0.015);
  });

  it("estimates the moved fraction from the fixed sample", () => {
    expect(MOVE_SAMPLE_KEYS).toHaveLength(1024);
    const before = members(10);
    expect(movedFraction(before, before)).toBe(0);
    const joined = movedFraction(before, [...before, { id: "x", weight: 1 }]);
    expect(Math.abs(joined - 1 / 11)).toBeLessThan(0.03);
    expect(movedFraction([], members(1))).toBe(1);
  });

  it("rejects weights that are not positive and duplicate ids", () => {
    expect(() => locate([{ id: "a", weight: 0 }], "k", 1)).toThrow(/weights must be > 0/);
    expect(() =>
      locate(
        [
          { id: "a", weight: 1 },
          { id: "a", weight: 2 },
        ],
        "k",
        1,
      ),
    ).toThrow(/listed twice/);
    expect(() => locate(members(2), "k", 0)).toThrow(/replicas/);
  });
});

describe("OwnerTable", () => {
  it("tracks primaryOwners exactly through joins, weight changes and leaves", () => {
    const keys = KEYS.slice(0, 300);
    const change = fc.record({
      id: fc.constantFrom("a", "b", "c", "d", "e"),
      weight: fc.integer({ min: 0, max: 5 }),
    });
    fc.assert(
      fc.property(fc.array(change, { maxLength: 25 }), (changes) => {
        const current = new Map<string, number>();
        const table = new OwnerTable(keys, []);
        for (const { id, weight } of changes) {
          const had = current.has(id);
          current.delete(id);
          const rest = [...current].map(([member, w]) => ({ id: member, weight: w }));
          if (had) table.remove(id, rest);
          if (weight > 0) {
            current.set(id, weight);
            table.add({ id, weight });
          }
          const members = [...current].map(([member, w]) => ({ id: member, weight: w }));
          expect(table.owners).toEqual(primaryOwners(members, keys));
        }
      }),
      { numRuns: 30 },
    );
  });
});
