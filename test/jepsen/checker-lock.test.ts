// The lock checker on hand-made resource logs: fenced runs fail on what
// fencing must prevent; unfenced runs report overlap as an observation.

import { describe, expect, it } from "vitest";
import {
  checkLock,
  type LockLog,
  lockLogFromAcceptedWrites,
  type ResourceWrite,
} from "../../jepsen-lite/checker/lock.js";

const w = (time: number, process: number, token: number, accepted = true): ResourceWrite => ({
  time,
  process,
  token,
  accepted,
});

const clean: LockLog = {
  holds: [
    { process: 1, token: 10, acquiredAt: 0, releasedAt: 100 },
    { process: 2, token: 12, acquiredAt: 110, releasedAt: 200 },
  ],
  writes: [w(10, 1, 10), w(50, 1, 10), w(120, 2, 12), w(150, 2, 12)],
};

/** p1 paused past its lease; p2 acquired and wrote; p1 woke and wrote with its stale token. */
const paused: LockLog = {
  holds: [
    { process: 1, token: 10, acquiredAt: 0, releasedAt: 3000 },
    { process: 2, token: 12, acquiredAt: 2100, releasedAt: 2500 },
  ],
  writes: [w(10, 1, 10), w(2200, 2, 12), w(2900, 1, 10, false)],
};

describe("checkLock, fenced", () => {
  it("accepts a clean handover", () => {
    const result = checkLock(clean, { fenced: true });
    expect(result).toMatchObject({
      valid: true,
      acceptedWrites: 4,
      rejectedWrites: 0,
      violations: [],
    });
    expect(result.observations).toEqual([]);
  });

  it("accepts a stale holder fenced off, and notes the overlap", () => {
    const result = checkLock(paused, { fenced: true });
    expect(result.valid).toBe(true);
    expect(result.rejectedWrites).toBe(1);
    expect(result.observations.map((o) => o.kind)).toEqual(["holds-overlapped"]);
  });

  it("accepts a stale holder's write that lands before the new holder's first", () => {
    // Fencing orders the resource by token: p1's late write is still before any of p2's.
    const result = checkLock(
      { holds: paused.holds, writes: [w(10, 1, 10), w(2150, 1, 10), w(2200, 2, 12)] },
      { fenced: true },
    );
    expect(result.valid).toBe(true);
  });

  it("fails when an accepted token goes backwards and holders interleave", () => {
    const result = checkLock(
      { holds: paused.holds, writes: [w(10, 1, 10), w(2200, 2, 12), w(2900, 1, 10)] },
      { fenced: true },
    );
    expect(result.valid).toBe(false);
    expect(result.violations.map((v) => v.kind).sort()).toEqual([
      "interleaved-holders",
      "token-regressed",
    ]);
    expect(result.violations[0]?.writeIndex).toBe(2);
  });

  it("fails when one token was granted to two processes", () => {
    const result = checkLock(
      {
        holds: [
          { process: 1, token: 10, acquiredAt: 0, releasedAt: 50 },
          { process: 2, token: 10, acquiredAt: 60, releasedAt: 90 },
        ],
        writes: [w(10, 1, 10), w(70, 2, 10)],
      },
      { fenced: true },
    );
    expect(result.valid).toBe(false);
    expect(result.violations.map((v) => v.kind)).toContain("shared-token");
  });

  it("fails when the fenced resource rejects a current token", () => {
    const result = checkLock(
      { holds: [], writes: [w(1, 1, 10), w(2, 1, 10, false)] },
      { fenced: true },
    );
    expect(result.valid).toBe(false);
    expect(result.violations[0]?.kind).toBe("wrongly-rejected");
  });
});

describe("checkLock, unfenced", () => {
  it("reports interleaved holders as an observation, not a failure", () => {
    const result = checkLock(
      { holds: paused.holds, writes: [w(10, 1, 10), w(2200, 2, 12), w(2900, 1, 10)] },
      { fenced: false },
    );
    expect(result.valid).toBe(true);
    expect(result.violations).toEqual([]);
    expect(result.observations.map((o) => o.kind).sort()).toEqual([
      "holds-overlapped",
      "interleaved-holders",
      "token-regressed",
    ]);
    expect(result.observationCount).toBe(3);
  });

  it("still fails on a token granted twice", () => {
    const result = checkLock({ holds: [], writes: [w(1, 1, 10), w(2, 2, 10)] }, { fenced: false });
    expect(result.valid).toBe(false);
  });

  it("a clean run has nothing to observe", () => {
    const result = checkLock(clean, { fenced: false });
    expect(result.valid).toBe(true);
    expect(result.observations).toEqual([]);
  });
});

describe("lockLogFromAcceptedWrites", () => {
  it("derives holds and writes from the workload's accepted-write records", () => {
    const log = lockLogFromAcceptedWrites([
      { token: 10, holder: 1, acquiredAt: 0, writtenAt: 5, releasedAt: 3000 },
      { token: 12, holder: 2, acquiredAt: 2100, writtenAt: 2200, releasedAt: null },
      { token: 10, holder: 1, acquiredAt: 0, writtenAt: 2900, releasedAt: 3000 },
    ]);
    expect(log.holds).toEqual([
      { process: 1, token: 10, acquiredAt: 0, releasedAt: 3000 },
      { process: 2, token: 12, acquiredAt: 2100 },
    ]);
    expect(log.writes.map((x) => x.time)).toEqual([5, 2200, 2900]);
    expect(
      checkLock(log, { fenced: false })
        .observations.map((o) => o.kind)
        .sort(),
    ).toEqual(["holds-overlapped", "interleaved-holders", "token-regressed"]);
    expect(checkLock(log, { fenced: true }).valid).toBe(false);
  });
});
