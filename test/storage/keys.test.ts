// The key layout: log keys sort by index, table prefixes cannot collide, and
// record names in error messages are readable.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  describeKey,
  LOG_RANGE,
  logIndexOfKey,
  logKey,
  META_RANGE,
  metaKey,
  metaNameOfKey,
  stateKey,
  stateTableRange,
} from "../../src/storage/keys.js";
import { AssertionError } from "../../src/util/assert.js";

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

function within(key: Uint8Array, range: { gte: Uint8Array; lt: Uint8Array }): boolean {
  return compareBytes(key, range.gte) >= 0 && compareBytes(key, range.lt) < 0;
}

describe("log keys", () => {
  it("sort in index order and decode back, across the 2^32 boundary", () => {
    const index = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
    fc.assert(
      fc.property(index, index, (a, b) => {
        const order = Math.sign(compareBytes(logKey(a), logKey(b)));
        expect(order).toBe(Math.sign(a - b));
        expect(logIndexOfKey(logKey(a))).toBe(a);
        expect(within(logKey(a), LOG_RANGE)).toBe(true);
      }),
    );
    expect(compareBytes(logKey(2 ** 32 - 1), logKey(2 ** 32))).toBeLessThan(0);
  });

  it("index 0 and non-integers are bugs", () => {
    expect(() => logKey(0)).toThrow(AssertionError);
    expect(() => logKey(1.5)).toThrow(AssertionError);
  });
});

describe("meta and state keys", () => {
  it("meta keys live in the meta range and name themselves", () => {
    const key = metaKey("hard-state");
    expect(within(key, META_RANGE)).toBe(true);
    expect(metaNameOfKey(key)).toBe("hard-state");
    expect(describeKey(key)).toBe("meta hard-state");
  });

  it("a table's range holds exactly its own keys, whatever the key bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8 }), (key) => {
        expect(within(stateKey("a", key), stateTableRange("a"))).toBe(true);
        expect(within(stateKey("ab", key), stateTableRange("a"))).toBe(false);
        expect(within(stateKey("a", key), stateTableRange("ab"))).toBe(false);
        expect(within(stateKey("a", key), LOG_RANGE)).toBe(false);
        expect(within(stateKey("a", key), META_RANGE)).toBe(false);
      }),
    );
  });

  it("table names must be short lowercase identifiers", () => {
    expect(() => stateKey("", new Uint8Array(0))).toThrow(AssertionError);
    expect(() => stateKey("Users", new Uint8Array(0))).toThrow(AssertionError);
    expect(() => stateKey("x".repeat(64), new Uint8Array(0))).toThrow(AssertionError);
    expect(() => stateKey("kv-meta.v1_x", new Uint8Array(0))).not.toThrow();
  });

  it("describes records the way an operator reads them", () => {
    expect(describeKey(logKey(1234))).toBe("log index 1234");
    expect(describeKey(stateKey("users", Uint8Array.of(0xab, 0x01)))).toBe(
      'state table "users" key 0xab01',
    );
    expect(describeKey(Uint8Array.of(0x7f, 1))).toBe("unknown key 0x7f01");
  });
});
