// The per-follower inflight ring: bounded, ordered, freed by acknowledgement.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Inflights } from "../../src/raft/inflights.js";
import { AssertionError } from "../../src/util/assert.js";

describe("Inflights", () => {
  it("fills up to capacity and refuses more", () => {
    const inflights = new Inflights(3);
    inflights.add(1);
    inflights.add(2);
    expect(inflights.full()).toBe(false);
    inflights.add(5);
    expect(inflights.full()).toBe(true);
    expect(() => inflights.add(6)).toThrow(AssertionError);
  });

  it("frees every message at or below an acknowledged index, across the ring's wrap", () => {
    const inflights = new Inflights(3);
    inflights.add(1);
    inflights.add(2);
    inflights.add(3);
    inflights.freeLE(2);
    expect(inflights.count).toBe(1);
    inflights.add(4);
    inflights.add(7); // wraps around the ring
    expect(inflights.full()).toBe(true);
    inflights.freeLE(4);
    expect(inflights.count).toBe(1);
    inflights.freeLE(100);
    expect(inflights.count).toBe(0);
  });

  it("rejects indexes that do not increase", () => {
    const inflights = new Inflights(4);
    inflights.add(5);
    expect(() => inflights.add(5)).toThrow(AssertionError);
  });

  it("matches a plain array model", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("add" as const), step: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant("free" as const), back: fc.nat({ max: 4 }) }),
      fc.record({ kind: fc.constant("reset" as const) }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(op, { maxLength: 60 }),
        (capacity, ops) => {
          const inflights = new Inflights(capacity);
          let model: number[] = [];
          let last = 0;
          for (const o of ops) {
            if (o.kind === "add" && model.length < capacity) {
              last += o.step;
              inflights.add(last);
              model.push(last);
            } else if (o.kind === "free") {
              const index = last - o.back;
              inflights.freeLE(index);
              model = model.filter((i) => i > index);
            } else if (o.kind === "reset") {
              inflights.reset();
              model = [];
            }
            expect(inflights.count).toBe(model.length);
            expect(inflights.full()).toBe(model.length === capacity);
          }
        },
      ),
    );
  });
});
