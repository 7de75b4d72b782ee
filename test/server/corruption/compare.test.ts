// The corruption check's verdict: who is corrupt given each member's answer
// for the same point (HashKV at one revision, or the digest at a checkpoint).
import { describe, expect, it } from "vitest";
import { digestSamples, judge, kvSamples } from "../../../src/server/corruption/compare.js";

const s = (memberId: number, answer: string) => ({ memberId, answer });

describe("judge", () => {
  it("finds nothing when every member agrees, or when only one answered", () => {
    expect(judge(1, 3, [s(1, "a"), s(2, "a"), s(3, "a")]).corrupt).toEqual([]);
    expect(judge(1, 3, [s(1, "a")]).corrupt).toEqual([]);
    expect(judge(1, 3, []).corrupt).toEqual([]);
  });

  it("names the follower the majority disagrees with", () => {
    expect(judge(1, 3, [s(1, "a"), s(2, "b"), s(3, "a")])).toEqual({
      corrupt: [2],
      trusted: "a",
      inconclusive: false,
    });
  });

  it("names the leader itself when the majority disagrees with it", () => {
    expect(judge(1, 3, [s(1, "x"), s(2, "a"), s(3, "a")])).toEqual({
      corrupt: [1],
      trusted: "a",
      inconclusive: false,
    });
  });

  it("needs a strict majority of the cluster, not of those who answered", () => {
    // 5 members, 2 silent: 2 against 1 is no majority of 5, so the leader is trusted.
    const verdict = judge(1, 5, [s(1, "a"), s(2, "b"), s(3, "b")]);
    expect(verdict).toEqual({ corrupt: [2, 3], trusted: "a", inconclusive: true });
    // 3 of 5 agree: that is the cluster's answer, whatever the leader says.
    expect(judge(1, 5, [s(1, "a"), s(2, "b"), s(3, "b"), s(4, "b")]).corrupt).toEqual([1]);
  });

  it("with a peer down, trusts the leader and says the verdict is inconclusive (etcd's rule)", () => {
    expect(judge(1, 3, [s(1, "a"), s(3, "b")])).toEqual({
      corrupt: [3],
      trusted: "a",
      inconclusive: true,
    });
  });

  it("names every member outside the majority", () => {
    expect(judge(3, 5, [s(1, "a"), s(2, "b"), s(3, "a"), s(4, "c"), s(5, "a")]).corrupt).toEqual([
      2, 4,
    ]);
  });
});

describe("samples", () => {
  it("compares HashKV only with members compacted at the leader's compact revision", () => {
    const leader = { memberId: 1, hash: 10, compactRevision: 5 };
    const samples = kvSamples(leader, [
      { memberId: 2, hash: 10, compactRevision: 5 },
      { memberId: 3, hash: 99, compactRevision: 7 },
    ]);
    expect(samples).toEqual([s(1, "hash 10"), s(2, "hash 10")]);
  });

  it("a digest at another revision is a different answer, even with equal tables", () => {
    const state = { digest: 7, tables: [] };
    const [a, b] = digestSamples([
      { memberId: 1, revision: 4, state },
      { memberId: 2, revision: 5, state },
    ]);
    expect(a?.answer).not.toBe(b?.answer);
  });
});
