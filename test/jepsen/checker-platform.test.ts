// The platform checker: acknowledged updates logged exactly once at the
// right version and in real-time order; failures never applied.

import { describe, expect, it } from "vitest";
import {
  checkPlatform,
  type OpLogEntry,
  type PlatformInput,
  type PlatformUpdate,
} from "../../jepsen-lite/checker/platform.js";

function update(
  opId: string,
  expectedVersion: number,
  call: number,
  extra: Partial<PlatformUpdate> = {},
): PlatformUpdate {
  return {
    resource: "srv-1",
    opId,
    expectedVersion,
    outcome: "ok",
    newVersion: expectedVersion + 1,
    call,
    ret: call + 5,
    ...extra,
  };
}

function entry(
  sequence: number,
  opId: string | undefined,
  version: number,
  extra: Partial<OpLogEntry> = {},
): OpLogEntry {
  return {
    sequence,
    resource: "srv-1",
    ...(opId !== undefined ? { opId } : {}),
    outcome: "ok",
    version,
    ...extra,
  };
}

/** Created at version 1 by someone else, then u1 (1→2), u2 failed, u3 indeterminate and applied (2→3), u4 (3→4). */
const healthy: PlatformInput = {
  updates: [
    update("u1", 1, 0),
    update("u2", 1, 10, { outcome: "fail" }),
    update("u3", 2, 20, { outcome: "info", ret: Number.POSITIVE_INFINITY }),
    update("u4", 3, 40),
  ],
  opLog: [
    entry(1, undefined, 1),
    entry(2, "u1", 2),
    entry(3, "u2", 1, { outcome: "refused" }),
    entry(4, "u3", 3),
    entry(5, "u4", 4),
  ],
  finalState: [{ resource: "srv-1", version: 4 }],
};

const kinds = (input: PlatformInput) => checkPlatform(input).violations.map((v) => v.kind);

describe("checkPlatform", () => {
  it("accepts a healthy run", () => {
    const result = checkPlatform(healthy);
    expect(result.violations).toEqual([]);
    expect(result).toMatchObject({ valid: true, updates: 4, logged: 3 });
  });

  it("accepts an indeterminate update that never applied", () => {
    const input: PlatformInput = {
      updates: [update("u1", 1, 0), update("u2", 2, 10, { outcome: "info" }), update("u3", 2, 20)],
      opLog: [entry(1, "u1", 2), entry(2, "u3", 3)],
      finalState: [{ resource: "srv-1", version: 3 }],
    };
    expect(kinds(input)).toEqual([]);
  });

  it("acknowledged but missing from the log", () => {
    expect(kinds({ ...healthy, opLog: healthy.opLog.filter((e) => e.opId !== "u1") })).toEqual([
      "acked-missing",
    ]);
  });

  it("a definite failure logged as applied", () => {
    const opLog = healthy.opLog.map((e) =>
      e.opId === "u2" ? { ...e, outcome: "ok" as const } : e,
    );
    expect(kinds({ ...healthy, opLog })).toContain("failed-applied");
  });

  it("applied twice (a retried command applied again)", () => {
    expect(
      kinds({
        ...healthy,
        opLog: [...healthy.opLog, entry(6, "u4", 5)],
        finalState: [{ resource: "srv-1", version: 5 }],
      }),
    ).toEqual(["duplicate"]);
  });

  it("a record nobody issued", () => {
    expect(
      kinds({
        ...healthy,
        opLog: [...healthy.opLog, entry(6, "ghost", 5)],
        finalState: [{ resource: "srv-1", version: 5 }],
      }),
    ).toEqual(["phantom"]);
  });

  it("the expected version ignored", () => {
    const input: PlatformInput = {
      updates: [update("u1", 1, 0), update("u2", 1, 10, { newVersion: 3 })],
      opLog: [entry(1, "u1", 2), entry(2, "u2", 3)],
      finalState: [{ resource: "srv-1", version: 3 }],
    };
    expect(kinds(input).sort()).toEqual(["lost-update", "wrong-version", "wrong-version"]);
  });

  it("versions going backwards in the log", () => {
    const opLog = [entry(1, "u1", 2), entry(2, undefined, 1), entry(3, "u4", 4)];
    const input: PlatformInput = {
      updates: [update("u1", 1, 0), update("u4", 3, 40)],
      opLog,
      finalState: [{ resource: "srv-1", version: 4 }],
    };
    expect(kinds(input)).toEqual(["version-regressed"]);
  });

  it("logged out of real-time order", () => {
    const input: PlatformInput = {
      updates: [update("a", 1, 0, { resource: "r1" }), update("b", 1, 100, { resource: "r2" })],
      opLog: [entry(1, "b", 2, { resource: "r2" }), entry(2, "a", 2, { resource: "r1" })],
      finalState: [
        { resource: "r1", version: 2 },
        { resource: "r2", version: 2 },
      ],
    };
    expect(kinds(input)).toEqual(["order"]);
    // Concurrent updates may be logged in either order.
    const concurrent = {
      ...input,
      updates: [
        update("a", 1, 0, { resource: "r1", ret: 200 }),
        update("b", 1, 100, { resource: "r2" }),
      ],
    };
    expect(kinds(concurrent)).toEqual([]);
  });

  it("a final state behind the acknowledged versions or the log", () => {
    expect(kinds({ ...healthy, finalState: [{ resource: "srv-1", version: 3 }] }).sort()).toEqual([
      "final-state",
      "final-state",
    ]);
    expect(kinds({ ...healthy, finalState: [] })).toEqual(["final-state"]);
  });
});
