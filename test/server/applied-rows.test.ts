// Applied rows are written apart from the log, in one unsynced batch per
// STATE_FLUSH_INTERVAL_MS (as etcd commits its backend), while proposers are
// answered as soon as their entries are applied in memory. Exports and a
// clean stop still see every answered write on disk.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { RaftNode } from "../../src/server/raft-node.js";
import { DiskStore, type DiskWriteFaults } from "../../src/storage/index.js";
import { agreedLeader, put, startMembers } from "./in-process-members.js";

const PUTS = 20;
/** Longer than the flush interval (100 ms), with room for a slow machine. */
const FLUSH_WAIT_MS = 400;

/** Counts the storage writes by operation name; fails none. */
class WriteCounter implements DiskWriteFaults {
  readonly counts = new Map<string, number>();
  beforeWrite(operation: string): Error | null {
    this.counts.set(operation, (this.counts.get(operation) ?? 0) + 1);
    return null;
  }
  count(operation: string): number {
    return this.counts.get(operation) ?? 0;
  }
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function oneMember(counter?: WriteCounter): Promise<{ node: RaftNode; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), "cairn-applied-rows-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const nodes = await startMembers(dir, [1], () => (counter ? { diskFaults: counter } : {}));
  cleanups.push(async () => {
    for (const node of nodes) await node.stop();
  });
  return { node: await agreedLeader(nodes), dir };
}

async function exportedAppliedIndex(node: RaftNode): Promise<number> {
  for await (const record of node.exportState()) {
    if (record.kind === "applied") return record.appliedIndex;
  }
  throw new Error("an export starts with the applied index");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("applied rows", () => {
  it("are written for many puts at once, after the puts were answered", async () => {
    const counter = new WriteCounter();
    const { node } = await oneMember(counter);
    await put(node, "warm-up");
    await sleep(FLUSH_WAIT_MS);
    const logWritesBefore = counter.count("persistRaft");
    const rowWritesBefore = counter.count("applyState");
    for (let i = 0; i < PUTS; i++) {
      const result = await put(node, `k${i}`);
      expect(result.kind).toBe("put");
    }
    expect(counter.count("persistRaft") - logWritesBefore).toBeGreaterThanOrEqual(PUTS);
    // One write per interval, not one per put (a slow run may span a few intervals).
    expect(counter.count("applyState") - rowWritesBefore).toBeLessThan(PUTS / 2);
    await sleep(FLUSH_WAIT_MS);
    expect(counter.count("applyState") - rowWritesBefore).toBeGreaterThanOrEqual(1);
    expect(await exportedAppliedIndex(node)).toBe(node.appliedIndex);
  });

  it("are on disk for an export that starts right after a put is answered", async () => {
    const { node } = await oneMember();
    await sleep(FLUSH_WAIT_MS);
    for (let i = 0; i < 5; i++) {
      await put(node, `k${i}`);
      const applied = node.appliedIndex;
      expect(await exportedAppliedIndex(node)).toBeGreaterThanOrEqual(applied);
    }
  });

  it("are written by a clean stop, so a restart has nothing to replay", async () => {
    const { node, dir } = await oneMember();
    for (let i = 0; i < 5; i++) await put(node, `k${i}`);
    const applied = node.appliedIndex;
    await node.stop();
    const disk = await DiskStore.open(join(dir, "n1"));
    try {
      const loaded = await disk.load();
      expect(loaded.appliedIndex).toBe(applied);
      // Raft refuses to start with an applied index beyond the commit index.
      expect(loaded.hardState.commit).toBeGreaterThanOrEqual(loaded.appliedIndex);
    } finally {
      await disk.close();
    }
  });
});
