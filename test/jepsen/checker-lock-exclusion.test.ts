import { describe, expect, it } from "vitest";
import { checkLockExclusion, type TimedHold } from "../../jepsen-lite/checker/lock-exclusion.js";

const options = { leaseTtlMs: 3_000, epsilonMs: 500 };
const hold = (
  process: number,
  token: number,
  requested: number,
  acquired: number,
  released?: number,
): TimedHold => ({
  process,
  token,
  leaseRequestedAt: requested,
  acquiredAt: acquired,
  ...(released === undefined ? {} : { releasedAt: released }),
});

describe("lock exclusion from the holders' clocks", () => {
  it("accepts holds one after another", () => {
    const result = checkLockExclusion([hold(1, 10, 0, 5, 50), hold(2, 11, 10, 60, 90)], options);
    expect(result.valid).toBe(true);
  });

  it("rejects a second holder granted while the first held a live lease", () => {
    const result = checkLockExclusion([hold(1, 10, 0, 5, 500), hold(2, 11, 10, 100, 200)], options);
    expect(result.valid).toBe(false);
    expect(result.violations[0]?.intruder.token).toBe(11);
  });

  it("excuses an overlap after the first holder's lease could have expired", () => {
    // Holder 1 stalled past its TTL: the service may hand the lock on (fencing decides).
    const result = checkLockExclusion(
      [hold(1, 10, 0, 5, 6_000), hold(2, 11, 2_000, 2_600, 2_700)],
      options,
    );
    expect(result.valid).toBe(true);
  });

  it("treats a hold never released as held until its lease could lapse", () => {
    const result = checkLockExclusion([hold(1, 10, 0, 5), hold(2, 11, 10, 1_000, 1_100)], options);
    expect(result.valid).toBe(false);
  });
});
