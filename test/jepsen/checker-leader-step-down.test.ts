// Check-quorum's step-down, judged from the nemesis log; and which members a
// partition leaves without a two-way majority.
import { describe, expect, it } from "vitest";
import { checkLeaderStepDown } from "../../jepsen-lite/checker/leader-step-down.js";
import { familiesOfNames, kindsOfNames } from "../../jepsen-lite/nemesis/faults.js";
import type { NemesisEvent } from "../../jepsen-lite/nemesis/nemesis.js";
import { partitionShape, withoutQuorum } from "../../jepsen-lite/nemesis/partitions.js";
import { planFaults } from "../../jepsen-lite/nemesis/plan.js";
import { Rng } from "../../jepsen-lite/runner/rng.js";

const FIVE = ["n1", "n2", "n3", "n4", "n5"];

describe("withoutQuorum", () => {
  it("names the isolated member, the minority side, and both ends of a one-way cut", () => {
    const isolate = partitionShape("partition-isolate-leader", FIVE, "n3", new Rng(1));
    expect(withoutQuorum(FIVE, isolate.cuts)).toEqual(["n3"]);
    const majority = partitionShape("partition-majority", FIVE, null, new Rng(2));
    const small = majority.description.slice(1, majority.description.indexOf("]")).split(",");
    expect(withoutQuorum(FIVE, majority.cuts).sort()).toEqual(small.sort());
    // A member that cannot send also cannot hear acks: it has no two-way quorum.
    expect(
      withoutQuorum(FIVE, [
        { src: "n1", dst: "n2" },
        { src: "n1", dst: "n3" },
        { src: "n1", dst: "n4" },
      ]),
    ).toEqual(["n1"]);
  });

  it("leaves everyone a quorum in a bridge or majorities ring", () => {
    for (const kind of ["partition-bridge", "partition-majorities-ring"] as const) {
      for (let seed = 0; seed < 20; seed++) {
        const shape = partitionShape(kind, FIVE, null, new Rng(seed));
        expect(withoutQuorum(FIVE, shape.cuts), `${kind} seed ${seed}`).toEqual([]);
      }
    }
  });
});

function stop(stepDown: Record<string, unknown> | undefined): NemesisEvent {
  return {
    time: 9_000,
    kind: "stop",
    fault: "partition-isolate-leader",
    detail: stepDown === undefined ? { healed: "network" } : { healed: "network", stepDown },
  };
}

describe("checkLeaderStepDown", () => {
  const sample = { heldMs: 5_000, boundMs: 3_000, withoutQuorum: ["n3"], unknown: [] };

  it("flags a member still leading past the bound", () => {
    const result = checkLeaderStepDown([stop({ ...sample, stillLeading: ["n3"] })]);
    expect(result.valid).toBe(false);
    expect(result.violations[0]?.members).toEqual(["n3"]);
    expect(result.violations[0]?.description).toContain("5000 ms");
  });

  it("passes when the isolated members stepped down, and counts what it judged", () => {
    const result = checkLeaderStepDown([
      stop({ ...sample, stillLeading: [] }),
      stop(undefined),
      { ...stop({ ...sample, stillLeading: ["n3"] }), kind: "start" },
    ]);
    expect(result).toMatchObject({ valid: true, judged: 1, violations: [] });
  });
});

describe("--nemesis names", () => {
  it("takes single kinds as well as families", () => {
    expect(kindsOfNames(["partition-isolate-leader"], 3)).toEqual(["partition-isolate-leader"]);
    expect(kindsOfNames(["kill", "kill-all"], 3)).toEqual(["kill", "kill-leader", "kill-all"]);
    expect(familiesOfNames(["partition-isolate-leader", "pause"])).toEqual(["partition", "pause"]);
    const plan = planFaults({ seed: 4, families: ["kill-all"], nodes: 3, durationMs: 60_000 });
    expect(plan.length).toBeGreaterThan(3);
    expect(new Set(plan.map((f) => f.kind))).toEqual(new Set(["kill-all"]));
  });
});
