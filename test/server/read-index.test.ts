import { describe, expect, it } from "vitest";
import { ReadIndexBatcher } from "../../src/server/read-index.js";

function setup(accept = true) {
  const issued: string[] = [];
  const batcher = new ReadIndexBatcher(
    {
      issue: (context) => {
        issued.push(Buffer.from(context).toString());
        return accept;
      },
    },
    1000,
    100,
    10,
  );
  return { issued, batcher };
}

describe("ReadIndex batching", () => {
  it("answers every read that joined a round with one ReadIndex, after apply catches up", async () => {
    const { issued, batcher } = setup();
    const settled: number[] = [];
    const reads = [0, 1, 2].map((i) => batcher.barrier(0).then(() => settled.push(i)));
    batcher.pump(0);
    expect(issued).toEqual(["r1"]);
    batcher.onReadState(Buffer.from("r1"), 10, 9);
    await Promise.resolve();
    expect(settled).toEqual([]);
    batcher.onApplied(10);
    await Promise.all(reads);
    expect(settled.sort()).toEqual([0, 1, 2]);
  });

  it("reads arriving during a round wait for the next one", async () => {
    const { issued, batcher } = setup();
    const first = batcher.barrier(0);
    batcher.pump(0);
    const second = batcher.barrier(1);
    batcher.pump(1);
    expect(issued).toEqual(["r1"]);
    batcher.onReadState(Buffer.from("r1"), 5, 5);
    await first;
    batcher.pump(2);
    expect(issued).toEqual(["r1", "r2"]);
    batcher.onReadState(Buffer.from("r2"), 6, 6);
    await second;
  });

  it("re-issues an unanswered round and ignores the stale answer", async () => {
    const { issued, batcher } = setup();
    const read = batcher.barrier(0);
    batcher.pump(0);
    batcher.pump(150);
    expect(issued).toEqual(["r1", "r2"]);
    batcher.onReadState(Buffer.from("r1"), 3, 3);
    let done = false;
    void read.then(() => (done = true));
    await Promise.resolve();
    expect(done).toBe(false);
    batcher.onReadState(Buffer.from("r2"), 3, 3);
    await read;
  });

  it("fails with no leader when Raft refuses, and times out after the deadline", async () => {
    const refused = setup(false);
    const read = refused.batcher.barrier(0);
    refused.batcher.pump(0);
    await expect(read).rejects.toThrow("etcdserver: no leader");
    const { batcher } = setup();
    const slow = batcher.barrier(0);
    batcher.pump(0);
    batcher.pump(2000);
    await expect(slow).rejects.toThrow("etcdserver: request timed out");
  });

  it("refuses reads beyond its bound", async () => {
    const { batcher } = setup();
    for (let i = 0; i < 10; i++) void batcher.barrier(0).catch(() => {});
    await expect(batcher.barrier(0)).rejects.toThrow("etcdserver: too many requests");
  });
});
