// Client-side pickers: distribution of round-robin and smooth weighted
// round-robin, least-latency choosing and re-choosing from its own
// measurements, and key-hash agreeing with the pure rendezvous function.
import { describe, expect, it } from "vitest";
import {
  KeyHashPicker,
  LeastLatencyPicker,
  type PickerMember,
  RoundRobinPicker,
  WeightedPicker,
} from "../../src/client/pickers.js";
import { locate } from "../../src/state/platform/rendezvous.js";

const member = (id: string, weight = 1): PickerMember<string> => ({ id, weight, value: id });

function counts(picks: readonly (string | undefined)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pick of picks) out[pick ?? "none"] = (out[pick ?? "none"] ?? 0) + 1;
  return out;
}

describe("RoundRobinPicker", () => {
  it("visits every member in turn, in member-id order", () => {
    const picker = new RoundRobinPicker([member("c"), member("a"), member("b")]);
    expect(Array.from({ length: 7 }, () => picker.pick())).toEqual([
      "a",
      "b",
      "c",
      "a",
      "b",
      "c",
      "a",
    ]);
  });

  it("follows membership changes and answers undefined for an empty group", () => {
    const picker = new RoundRobinPicker([member("a"), member("b")]);
    picker.update([member("x")]);
    expect([picker.pick(), picker.pick()]).toEqual(["x", "x"]);
    picker.update([]);
    expect(picker.pick()).toBeUndefined();
  });

  it("refuses duplicate ids and non-positive weights", () => {
    expect(() => new RoundRobinPicker([member("a"), member("a")])).toThrow(/twice/);
    expect(() => new RoundRobinPicker([member("a", 0)])).toThrow(/weight/);
  });
});

describe("WeightedPicker", () => {
  it("picks each member exactly weight times per cycle of total weight", () => {
    const picker = new WeightedPicker([member("a", 1), member("b", 2), member("c", 5)]);
    for (let cycle = 0; cycle < 5; cycle++) {
      const picks = Array.from({ length: 8 }, () => picker.pick());
      expect(counts(picks)).toEqual({ a: 1, b: 2, c: 5 });
    }
  });

  it("interleaves rather than bursting (smooth)", () => {
    const picker = new WeightedPicker([member("a", 1), member("b", 1), member("c", 4)]);
    const picks = Array.from({ length: 60 }, () => picker.pick()).join("");
    expect(picks).not.toMatch(/cccc/);
    expect(counts([...picks])).toEqual({ a: 10, b: 10, c: 40 });
  });

  it("restarts the schedule on a membership change", () => {
    const picker = new WeightedPicker([member("a", 3), member("b", 1)]);
    picker.pick();
    picker.update([member("a", 1), member("b", 1)]);
    expect(counts(Array.from({ length: 10 }, () => picker.pick()))).toEqual({ a: 5, b: 5 });
  });
});

describe("LeastLatencyPicker", () => {
  function fakeClock() {
    let nowMs = 0;
    return { now: () => nowMs, advance: (ms: number) => (nowMs += ms) };
  }

  it("measures every member first, then prefers the fastest", () => {
    const clock = fakeClock();
    const picker = new LeastLatencyPicker([member("a"), member("b"), member("c")], {
      now: clock.now,
      exploreEvery: 1_000,
    });
    const latency: Record<string, number> = { a: 30, b: 5, c: 60 };
    const first = Array.from({ length: 3 }, () => {
      const id = picker.pick() as string;
      picker.record(id, latency[id] as number);
      return id;
    });
    expect(first.sort()).toEqual(["a", "b", "c"]);
    expect(Array.from({ length: 20 }, () => picker.pick())).toEqual(Array(20).fill("b"));
  });

  it("adapts when the fastest member slows down and another speeds up", async () => {
    const clock = fakeClock();
    const picker = new LeastLatencyPicker([member("a"), member("b")], {
      now: clock.now,
      exploreEvery: 4,
      smoothing: 0.5,
    });
    const latency: Record<string, number> = { a: 5, b: 50 };
    const run = async (rounds: number) => {
      const picks: string[] = [];
      for (let i = 0; i < rounds; i++) {
        picks.push(
          await picker.measure(async (id) => {
            clock.advance(latency[id] as number);
            return id;
          }),
        );
      }
      return picks;
    };
    const before = counts(await run(40));
    expect(before.a).toBeGreaterThan(before.b ?? 0);
    latency.a = 80;
    latency.b = 2;
    await run(20); // the averages catch up
    const after = counts(await run(40));
    expect(after.b).toBeGreaterThan(after.a ?? 0);
    expect(picker.latencyMs("b")).toBeLessThan(picker.latencyMs("a") as number);
  });

  it("charges a failure the penalty, steering away from a failing member", async () => {
    const clock = fakeClock();
    const picker = new LeastLatencyPicker([member("a"), member("b")], {
      now: clock.now,
      exploreEvery: 1_000,
      failurePenaltyMs: 1_000,
    });
    picker.record("a", 1);
    picker.record("b", 10);
    await expect(
      picker.measure(async () => {
        throw new Error("refused");
      }),
    ).rejects.toThrow("refused");
    expect(picker.latencyMs("a")).toBeGreaterThan(100);
    expect(picker.pick()).toBe("b");
  });

  it("forgets members that left", () => {
    const picker = new LeastLatencyPicker([member("a"), member("b")]);
    picker.record("a", 3);
    picker.update([member("b")]);
    expect(picker.latencyMs("a")).toBeUndefined();
    expect(picker.pick()).toBe("b");
  });
});

describe("KeyHashPicker", () => {
  const members = [member("n1", 1), member("n2", 2), member("n3", 1), member("n4", 3)];

  it("gives the pure rendezvous owner for every key", () => {
    const picker = new KeyHashPicker(members);
    for (let i = 0; i < 500; i++) {
      const key = `key-${i}`;
      expect(picker.pick(key)).toBe(locate(members, key, 1)[0]);
      expect(picker.owners(key, 3)).toEqual(locate(members, key, 3));
    }
  });

  it("moves only the keys the leaver owned", () => {
    const picker = new KeyHashPicker(members);
    const keys = Array.from({ length: 1_000 }, (_, i) => `k${i}`);
    const before = keys.map((key) => picker.pick(key));
    picker.update(members.filter((m) => m.id !== "n2"));
    const after = keys.map((key) => picker.pick(key));
    keys.forEach((_, i) => {
      if (before[i] !== "n2") expect(after[i]).toBe(before[i]);
      else expect(after[i]).not.toBe("n2");
    });
  });

  it("spreads keys by weight", () => {
    const picker = new KeyHashPicker([member("light", 1), member("heavy", 3)]);
    const picks = counts(Array.from({ length: 4_000 }, (_, i) => picker.pick(`key-${i}`)));
    expect((picks.heavy ?? 0) / 4_000).toBeGreaterThan(0.7);
    expect((picks.heavy ?? 0) / 4_000).toBeLessThan(0.8);
  });

  it("needs a key", () => {
    expect(() => new KeyHashPicker(members).pick()).toThrow(/key/);
  });
});
