// The safety checkers must be able to fail: each gets a healthy state (no
// report) and a deliberately broken one (the matching violation).

import { describe, expect, it } from "vitest";
import type { Entry, Role } from "../../src/raft/index.js";
import {
  ElectionSafetyChecker,
  LeaderAppendOnlyChecker,
  LeaderCompletenessChecker,
  LogMatchingChecker,
  type NodeView,
  SafetyChecker,
  SafetyViolation,
  StateMachineSafetyChecker,
} from "./checkers.js";

function entry(index: number, term: number, payload = ""): Entry {
  return { index, term, kind: "normal", data: new TextEncoder().encode(payload) };
}

/** A log from a list of [term, payload] pairs, indexes from 1. */
function log(...items: readonly [number, string][]): Entry[] {
  return items.map(([term, payload], k) => entry(k + 1, term, payload));
}

function view(overrides: Partial<NodeView> & Pick<NodeView, "id">): NodeView {
  return {
    incarnation: 1,
    up: true,
    role: "follower" as Role,
    term: 1,
    commit: 0,
    log: [],
    applied: [],
    ...overrides,
  };
}

function violationOf(check: () => void): string | undefined {
  try {
    check();
    return undefined;
  } catch (error) {
    if (error instanceof SafetyViolation) {
      return error.property;
    }
    throw error;
  }
}

describe("election safety checker", () => {
  it("accepts one leader per term, even across terms", () => {
    const checker = new ElectionSafetyChecker();
    checker.check([view({ id: 1, role: "leader", term: 1 }), view({ id: 2, term: 1 })]);
    expect(
      violationOf(() =>
        checker.check([view({ id: 2, role: "leader", term: 2 }), view({ id: 1, term: 2 })]),
      ),
    ).toBeUndefined();
  });

  it("reports two leaders in the same term at once", () => {
    const checker = new ElectionSafetyChecker();
    const state = [
      view({ id: 1, role: "leader", term: 3 }),
      view({ id: 2, role: "leader", term: 3 }),
    ];
    expect(violationOf(() => checker.check(state))).toBe("election-safety");
  });

  it("reports two leaders in the same term at different times", () => {
    const checker = new ElectionSafetyChecker();
    checker.check([view({ id: 1, role: "leader", term: 3 }), view({ id: 2, term: 3 })]);
    const later = [view({ id: 1, up: false, term: 3 }), view({ id: 2, role: "leader", term: 3 })];
    expect(violationOf(() => checker.check(later))).toBe("election-safety");
  });
});

describe("leader append-only checker", () => {
  const before = log([1, "a"], [2, "b"]);

  it("accepts a leader whose log only grows", () => {
    const checker = new LeaderAppendOnlyChecker();
    checker.check([view({ id: 1, role: "leader", term: 2, log: before })]);
    const grown = [...before, entry(3, 2, "c")];
    expect(
      violationOf(() => checker.check([view({ id: 1, role: "leader", term: 2, log: grown })])),
    ).toBeUndefined();
  });

  it("reports a leader that overwrote one of its entries", () => {
    const checker = new LeaderAppendOnlyChecker();
    checker.check([view({ id: 1, role: "leader", term: 2, log: before })]);
    const overwritten = log([1, "a"], [2, "B"]);
    expect(
      violationOf(() =>
        checker.check([view({ id: 1, role: "leader", term: 2, log: overwritten })]),
      ),
    ).toBe("leader-append-only");
  });

  it("reports a leader whose log shrank", () => {
    const checker = new LeaderAppendOnlyChecker();
    checker.check([view({ id: 1, role: "leader", term: 2, log: before })]);
    const shrunk = log([1, "a"]);
    expect(
      violationOf(() => checker.check([view({ id: 1, role: "leader", term: 2, log: shrunk })])),
    ).toBe("leader-append-only");
  });
});

describe("log matching checker", () => {
  it("accepts logs that agree on their common prefix and diverge after", () => {
    const checker = new LogMatchingChecker();
    const state = [
      view({ id: 1, log: log([1, "a"], [2, "b"], [2, "c"]) }),
      view({ id: 2, log: log([1, "a"], [3, "x"]) }),
    ];
    expect(violationOf(() => checker.check(state))).toBeUndefined();
  });

  it("reports the same (index, term) with different contents", () => {
    const checker = new LogMatchingChecker();
    const state = [
      view({ id: 1, log: log([1, "a"], [1, "b"]) }),
      view({ id: 2, log: log([1, "a"], [1, "z"]) }),
    ];
    expect(violationOf(() => checker.check(state))).toBe("log-matching");
  });

  it("reports the same (index, term) preceded by different histories", () => {
    const checker = new LogMatchingChecker();
    const state = [
      view({ id: 1, log: log([1, "a"], [3, "c"]) }),
      view({ id: 2, log: log([2, "b"], [3, "c"]) }),
    ];
    expect(violationOf(() => checker.check(state))).toBe("log-matching");
  });
});

describe("leader completeness checker", () => {
  const committedLog = log([1, "a"], [1, "b"]);

  it("accepts a later leader that holds every committed entry", () => {
    const checker = new LeaderCompletenessChecker();
    checker.check([view({ id: 1, term: 1, commit: 2, log: committedLog })]);
    const newLeader = view({ id: 2, role: "leader", term: 2, log: [...committedLog, entry(3, 2)] });
    expect(violationOf(() => checker.check([newLeader]))).toBeUndefined();
  });

  it("reports a later leader that lacks a committed entry", () => {
    const checker = new LeaderCompletenessChecker();
    checker.check([view({ id: 1, term: 1, commit: 2, log: committedLog })]);
    const newLeader = view({ id: 2, role: "leader", term: 2, log: log([1, "a"], [2, ""]) });
    expect(violationOf(() => checker.check([newLeader]))).toBe("leader-completeness");
  });

  it("reports a committed index whose entry changed", () => {
    const checker = new LeaderCompletenessChecker();
    checker.check([view({ id: 1, term: 1, commit: 2, log: committedLog })]);
    const rewritten = view({ id: 1, term: 2, commit: 2, log: log([1, "a"], [2, "other"]) });
    expect(violationOf(() => checker.check([rewritten]))).toBe("leader-completeness");
  });
});

describe("state machine safety checker", () => {
  function committedRegistry(entries: readonly Entry[]): LeaderCompletenessChecker {
    const completeness = new LeaderCompletenessChecker();
    completeness.check([view({ id: 9, term: 1, commit: entries.length, log: [...entries] })]);
    return completeness;
  }

  it("accepts applied sequences that are prefixes of each other", () => {
    const committed = log([1, "a"], [1, "b"]);
    const checker = new StateMachineSafetyChecker(committedRegistry(committed).committed);
    const state = [
      view({ id: 1, applied: committed }),
      view({ id: 2, applied: committed.slice(0, 1) }),
    ];
    expect(violationOf(() => checker.check(state))).toBeUndefined();
  });

  it("reports two nodes applying different entries at the same index", () => {
    const committed = log([1, "a"]);
    const checker = new StateMachineSafetyChecker(committedRegistry(committed).committed);
    const state = [view({ id: 1, applied: committed }), view({ id: 2, applied: log([1, "x"]) })];
    expect(violationOf(() => checker.check(state))).toBe("state-machine-safety");
  });

  it("reports a node applying an entry that was never committed", () => {
    const checker = new StateMachineSafetyChecker(committedRegistry(log([1, "a"])).committed);
    const state = [view({ id: 1, applied: log([1, "a"], [1, "uncommitted"]) })];
    expect(violationOf(() => checker.check(state))).toBe("state-machine-safety");
  });
});

describe("combined safety checker", () => {
  it("runs all five properties and counts checks", () => {
    const checker = new SafetyChecker();
    const healthy = log([1, ""], [1, "a"]);
    checker.check([
      view({ id: 1, role: "leader", term: 1, commit: 2, log: healthy, applied: healthy }),
      view({ id: 2, term: 1, commit: 1, log: healthy, applied: healthy.slice(0, 1) }),
    ]);
    expect(checker.checks).toBe(1);
    const split = [
      view({ id: 1, role: "leader", term: 1, commit: 2, log: healthy, applied: healthy }),
      view({
        id: 2,
        role: "leader",
        term: 1,
        commit: 1,
        log: healthy,
        applied: healthy.slice(0, 1),
      }),
    ];
    expect(violationOf(() => checker.check(split))).toBe("election-safety");
  });
});
