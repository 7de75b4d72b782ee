// The WGL memo's bitset: set/clear/has, equality and hashing by content.

import { describe, expect, it } from "vitest";
import { Bitset } from "../../jepsen-lite/checker/bitset.js";

describe("Bitset", () => {
  it("sets, clears and counts bits across word boundaries", () => {
    const bits = new Bitset(100);
    for (const i of [0, 31, 32, 63, 99]) bits.set(i);
    expect([0, 1, 31, 32, 33, 63, 99].map((i) => bits.has(i))).toEqual([
      true,
      false,
      true,
      true,
      false,
      true,
      true,
    ]);
    expect(bits.count()).toBe(5);
    bits.clear(31);
    expect(bits.has(31)).toBe(false);
    expect(bits.count()).toBe(4);
  });

  it("equal contents are equal and hash alike; clones are independent", () => {
    const a = new Bitset(70);
    const b = new Bitset(70);
    a.set(3);
    a.set(65);
    b.set(65);
    b.set(3);
    expect(a.equals(b)).toBe(true);
    expect(a.hash()).toBe(b.hash());
    const c = a.clone();
    c.set(4);
    expect(a.has(4)).toBe(false);
    expect(a.equals(c)).toBe(false);
    expect(a.hash()).not.toBe(c.hash());
  });
});
