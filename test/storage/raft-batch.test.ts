// The pure planner behind persistRaft: which keys one Ready's batch puts and
// deletes, and what it reports as written.

import { describe, expect, it } from "vitest";
import { logIndexOfKey, metaKey } from "../../src/storage/keys.js";
import { planRaftBatch } from "../../src/storage/raft-batch.js";
import { entries } from "./helpers.js";

const durable = { firstIndex: 1, lastIndex: 10, hardState: { term: 1, vote: 1, commit: 2 } };

function describeOps(ops: ReturnType<typeof planRaftBatch>["ops"]): string[] {
  return ops.map((op) => {
    const index = logIndexOfKey(op.key);
    const name = index === undefined ? Buffer.from(op.key.subarray(1)).toString() : `${index}`;
    return `${op.type} ${name}`;
  });
}

describe("planRaftBatch", () => {
  it("puts the new entries, deletes the replaced tail and puts the hard state", () => {
    const batch = planRaftBatch(durable, entries(5, 6, 2), { term: 2, vote: 3, commit: 4 });
    expect(describeOps(batch.ops)).toEqual([
      "put 5",
      "put 6",
      "del 7",
      "del 8",
      "del 9",
      "del 10",
      "put hard-state",
    ]);
    expect(batch.lastIndex).toBe(6);
    const putBytes = batch.ops
      .filter((op) => op.type === "put")
      .reduce((sum, op) => sum + op.key.byteLength + op.value.byteLength, 0);
    expect(batch.bytes).toBe(putBytes);
  });

  it("an append past the end deletes nothing; a hard-state-only batch keeps the last index", () => {
    expect(describeOps(planRaftBatch(durable, entries(11, 12, 1), null).ops)).toEqual([
      "put 11",
      "put 12",
    ]);
    const hardOnly = planRaftBatch(durable, [], { term: 1, vote: 1, commit: 9 });
    expect(describeOps(hardOnly.ops)).toEqual(["put hard-state"]);
    expect(hardOnly.lastIndex).toBe(10);
    expect(hardOnly.ops[0]!.key).toEqual(metaKey("hard-state"));
  });

  it("nothing to persist is an empty batch", () => {
    expect(planRaftBatch(durable, [], null)).toEqual({ ops: [], bytes: 0, lastIndex: 10 });
  });
});
