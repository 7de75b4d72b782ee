// Majority arithmetic against a deliberately dumb oracle (etcd's quorum/quick_test.go idea).

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { committedIndex, quorumSize, voteResult } from "../../src/raft/quorum.js";

/** The oracle: the largest index that at least a majority of voters have reached. */
function committedByCounting(acked: readonly number[]): number {
  let best = 0;
  for (const candidate of acked) {
    const reached = acked.filter((index) => index >= candidate).length;
    if (reached >= Math.floor(acked.length / 2) + 1) {
      best = Math.max(best, candidate);
    }
  }
  return best;
}

describe("quorum", () => {
  it("sizes a majority", () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(quorumSize)).toEqual([1, 2, 2, 3, 3, 4, 4]);
  });

  it("committedIndex agrees with a counting oracle", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 50 }), { minLength: 1, maxLength: 9 }), (acked) => {
        const voters = acked.map((_, k) => k + 1);
        const index = committedIndex(voters, (id) => acked[id - 1] ?? 0);
        expect(index).toBe(committedByCounting(acked));
      }),
      { numRuns: 2_000 },
    );
  });

  it("committedIndex treats unknown voters as 0 and an empty set as Infinity", () => {
    expect(committedIndex([1, 2, 3], (id) => (id === 1 ? 7 : 0))).toBe(0);
    expect(committedIndex([1, 2, 3], (id) => (id === 3 ? 0 : 7))).toBe(7);
    expect(committedIndex([], () => 0)).toBe(Number.POSITIVE_INFINITY);
  });

  it("voteResult is won/lost/pending exactly as counting says", () => {
    const vote = fc.constantFrom<boolean | undefined>(true, false, undefined);
    fc.assert(
      fc.property(fc.array(vote, { minLength: 1, maxLength: 7 }), (answers) => {
        const voters = answers.map((_, k) => k + 1);
        const votes = new Map<number, boolean>();
        answers.forEach((answer, k) => {
          if (answer !== undefined) {
            votes.set(k + 1, answer);
          }
        });
        const granted = answers.filter((a) => a === true).length;
        const missing = answers.filter((a) => a === undefined).length;
        const quorum = quorumSize(voters.length);
        const expected =
          granted >= quorum ? "won" : granted + missing >= quorum ? "pending" : "lost";
        expect(voteResult(voters, votes)).toBe(expected);
      }),
      { numRuns: 1_000 },
    );
  });
});
