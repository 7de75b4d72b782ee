// Schedules the simulator once found failing, pinned so they keep running
// exactly as found (random runs would rarely hit them again).
import { describe, expect, it } from "vitest";
import { runSchedule } from "./runner.js";
import type { Schedule } from "./schedule.js";

const MEMBERSHIP = {
  size: 3,
  spares: 2,
  snapshotEvery: 4,
  keepEntries: 2,
  electionTicks: 10,
  heartbeatTicks: 2,
};

describe("pinned simulator regressions", () => {
  it("a leader that removed itself keeps handing over as its later entries become durable", () => {
    // Failed with "leader has no progress for itself": the removed leader, still
    // leading to hand over, asserted its own progress when its write landed.
    const schedule = JSON.parse(
      '{"seed":1023698586,"profile":{"dropPermille":0,"duplicatePermille":0,"delayMinUnits":1,"delayMaxUnits":3},"ops":[{"kind":"tick","count":1},{"kind":"tick","count":4},{"kind":"tick","count":4},{"kind":"drop-burst","count":4},{"kind":"tick","count":4},{"kind":"tick","count":1},{"kind":"tick","count":3},{"kind":"partition","shape":{"kind":"isolate-leader"}},{"kind":"tick","count":3},{"kind":"tick","count":6},{"kind":"tick","count":3},{"kind":"propose","node":3},{"kind":"slow-disk","node":0,"count":6},{"kind":"membership","change":"remove","node":2},{"kind":"membership","change":"add-learner","node":1},{"kind":"propose","node":0},{"kind":"tick","count":1},{"kind":"tick","count":1},{"kind":"membership","change":"add-learner","node":1},{"kind":"tick","count":2},{"kind":"tick","count":5},{"kind":"tick","count":6},{"kind":"tick","count":4},{"kind":"tick","count":5},{"kind":"tick","count":4},{"kind":"slow-disk","node":-1,"count":4},{"kind":"propose","node":-1},{"kind":"propose","node":1},{"kind":"partition","shape":{"kind":"one-way","from":2,"to":2}},{"kind":"deliver-early","pick":251},{"kind":"tick","count":6},{"kind":"membership","change":"remove","node":4},{"kind":"tick","count":1},{"kind":"tick","count":3},{"kind":"tick","count":2},{"kind":"deliver-early","pick":529},{"kind":"membership","change":"remove","node":3},{"kind":"partition","shape":{"kind":"split","mask":5}},{"kind":"tick","count":2},{"kind":"read","node":0},{"kind":"membership","change":"add-voter","node":5},{"kind":"restart","node":2},{"kind":"read","node":-1},{"kind":"tick","count":5},{"kind":"propose","node":3},{"kind":"heal"},{"kind":"propose","node":3},{"kind":"read","node":1},{"kind":"tick","count":2},{"kind":"membership","change":"add-voter","node":5},{"kind":"read","node":-1},{"kind":"read","node":3},{"kind":"propose","node":1},{"kind":"membership","change":"add-learner","node":4},{"kind":"tick","count":4},{"kind":"partition","shape":{"kind":"one-way","from":2,"to":3}},{"kind":"tick","count":2},{"kind":"propose","node":1},{"kind":"propose","node":0},{"kind":"tick","count":1},{"kind":"deliver-early","pick":246},{"kind":"read","node":-1},{"kind":"drop-burst","count":7},{"kind":"propose","node":0},{"kind":"membership","change":"remove","node":2},{"kind":"propose","node":2},{"kind":"deliver-early","pick":841},{"kind":"heal"},{"kind":"tick","count":5},{"kind":"read","node":0},{"kind":"tick","count":6},{"kind":"membership","change":"remove","node":1},{"kind":"partition","shape":{"kind":"isolate-leader"}},{"kind":"propose","node":1}]}',
    ) as Schedule;
    const outcome = runSchedule(schedule, MEMBERSHIP);
    expect(outcome.confChangesApplied).toBeGreaterThan(0);
  });
});
