// The platform workload's pure half: its history and the op-log records it
// read become the platform checker's input.
import { describe, expect, it } from "vitest";
import { checkPlatform } from "../../jepsen-lite/checker/platform.js";
import type { Op } from "../../jepsen-lite/history/op.js";
import { pairHistory } from "../../jepsen-lite/history/pair.js";
import {
  F_READ,
  F_UPDATE,
  opLogEntries,
  platformInput,
  platformUpdates,
  type RawOpLogRecord,
  tagOf,
} from "../../jepsen-lite/workloads/platform.js";

/** A history with dense indexes; `time` defaults to the index. */
function history(ops: ReadonlyArray<Omit<Op, "index" | "time"> & { time?: number }>): Op[] {
  return ops.map((op, index) => ({ ...op, time: op.time ?? index, index }));
}

const update = (opId: string, expectedVersion: number) => ({ opId, expectedVersion });

/** srv-1: read v1, u1 ok (→2); u2 from stale v1 refused; u3 info (applied, →3); u4 pending. */
const ops = history([
  { process: 0, type: "invoke", f: F_READ, key: "srv-1", value: null },
  { process: 0, type: "ok", f: F_READ, key: "srv-1", value: 1 },
  { process: 0, type: "invoke", f: F_UPDATE, key: "srv-1", value: update("u1", 1) },
  { process: 0, type: "ok", f: F_UPDATE, key: "srv-1", value: { ...update("u1", 1), version: 2 } },
  { process: 1, type: "invoke", f: F_UPDATE, key: "srv-1", value: update("u2", 1) },
  { process: 1, type: "fail", f: F_UPDATE, key: "srv-1", value: update("u2", 1), error: "grpc 10" },
  { process: 0, type: "invoke", f: F_UPDATE, key: "srv-1", value: update("u3", 2) },
  { process: 0, type: "info", f: F_UPDATE, key: "srv-1", value: update("u3", 2), error: "timeout" },
  // A register read of the same key is not the platform's: ignored.
  { process: 2, type: "invoke", f: "read", key: "srv-1", value: null },
  { process: 2, type: "ok", f: "read", key: "srv-1", value: 7 },
  { process: 3, type: "invoke", f: F_UPDATE, key: "db-2", value: update("u4", 1) },
]);

const record = (
  sequence: number,
  action: string,
  target: string,
  outcome: string,
  after: Record<string, string>,
): RawOpLogRecord => ({ sequence, action, target, outcome, after });

const records: RawOpLogRecord[] = [
  record(1, "user.register", "user/jl-1", "ok", {}),
  record(2, "resource.create", "resource/srv-1", "ok", { version: "1", labels: "" }),
  record(3, "resource.create", "resource/db-2", "ok", { version: "1", labels: "" }),
  record(4, "resource.update", "resource/srv-1", "ok", { version: "2", labels: "jepsen-op=u1" }),
  record(5, "resource.update", "resource/srv-1", "aborted", { error: "at version 2" }),
  record(6, "resource.update", "resource/srv-1", "ok", { version: "3", labels: "jepsen-op=u3" }),
  // A resource the run did not create (an indeterminate create's orphan).
  record(7, "resource.update", "resource/srv-9", "ok", { version: "2", labels: "jepsen-op=u9" }),
];

describe("platform workload: history and op log → checker input", () => {
  it("reads the tag out of a labels summary", () => {
    expect(tagOf("jepsen-op=u12")).toBe("u12");
    expect(tagOf("env=prod,jepsen-op=u3,tier=db")).toBe("u3");
    expect(tagOf("env=prod")).toBeUndefined();
    expect(tagOf("")).toBeUndefined();
    expect(tagOf(undefined)).toBeUndefined();
  });

  it("turns updates into PlatformUpdates; info and pending become info", () => {
    const updates = platformUpdates(pairHistory(ops));
    expect(updates).toEqual([
      {
        resource: "srv-1",
        opId: "u1",
        expectedVersion: 1,
        outcome: "ok",
        newVersion: 2,
        call: 2,
        ret: 3,
      },
      { resource: "srv-1", opId: "u2", expectedVersion: 1, outcome: "fail", call: 4, ret: 5 },
      {
        resource: "srv-1",
        opId: "u3",
        expectedVersion: 2,
        outcome: "info",
        call: 6,
        ret: Number.POSITIVE_INFINITY,
      },
      {
        resource: "db-2",
        opId: "u4",
        expectedVersion: 1,
        outcome: "info",
        call: 10,
        ret: Number.POSITIVE_INFINITY,
      },
    ]);
  });

  it("keeps the records of the run's resources: tags only on applied updates", () => {
    expect(opLogEntries(records, new Set(["srv-1", "db-2"]))).toEqual([
      { sequence: 2, resource: "srv-1", outcome: "ok", version: 1 },
      { sequence: 3, resource: "db-2", outcome: "ok", version: 1 },
      { sequence: 4, resource: "srv-1", opId: "u1", outcome: "ok", version: 2 },
      { sequence: 5, resource: "srv-1", outcome: "refused" },
      { sequence: 6, resource: "srv-1", opId: "u3", outcome: "ok", version: 3 },
    ]);
  });

  it("builds an input the checker accepts, and one it rejects when an ack is missing", () => {
    const opLog = opLogEntries(records, new Set(["srv-1", "db-2"]));
    const finalState = [
      { resource: "srv-1", version: 3 },
      { resource: "db-2", version: 1 },
    ];
    const input = platformInput(ops, { opLog, finalState });
    expect(input.updates).toHaveLength(4);
    const result = checkPlatform(input);
    expect(result.violations).toEqual([]);
    expect(result.valid).toBe(true);
    expect(result.logged).toBe(2);

    const lost = opLog.filter((e) => e.opId !== "u1");
    const broken = checkPlatform(platformInput(ops, { opLog: lost, finalState }));
    expect(broken.valid).toBe(false);
    expect(broken.violations.map((v) => v.kind)).toContain("acked-missing");
  });
});
