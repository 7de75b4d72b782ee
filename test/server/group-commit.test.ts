// Group commit: proposals that arrive while a Raft log batch is being synced
// wait in the member's inbox and are written together in the next synced
// batch, instead of one sync each. Seen through cairn_disk_wal_batch_entries,
// the histogram of log entries per synced batch.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { NodeMetrics } from "../../src/server/metrics.js";
import type { RaftNode } from "../../src/server/raft-node.js";
import type { DiskWriteFaults } from "../../src/storage/index.js";
import { agreedLeader, put, startMembers } from "./in-process-members.js";

const PROPOSALS = 200;

/** Runs `onRaftWrite` once, inside the next Raft log write: while that batch is being synced. */
class SyncTrap implements DiskWriteFaults {
  onRaftWrite: (() => void) | null = null;
  beforeWrite(operation: string): Error | null {
    const fire = this.onRaftWrite;
    if (operation === "persistRaft" && fire !== null) {
      this.onRaftWrite = null;
      fire();
    }
    return null;
  }
}

interface BatchCounts {
  readonly batches: number;
  readonly entries: number;
  /** Batches of at most one entry. */
  readonly singles: number;
}

async function batchCounts(metrics: NodeMetrics): Promise<BatchCounts> {
  const { values } = await metrics.walBatchEntries.get();
  const find = (name: string, le?: number) =>
    values.find((v) => v.metricName === name && (le === undefined || v.labels.le === le))?.value ??
    Number.NaN;
  return {
    batches: find("cairn_disk_wal_batch_entries_count"),
    entries: find("cairn_disk_wal_batch_entries_sum"),
    singles: find("cairn_disk_wal_batch_entries_bucket", 1),
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("group commit", () => {
  it("writes proposals that arrive during a sync in the next batch, not one sync each", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cairn-group-commit-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const metrics = new NodeMetrics();
    const trap = new SyncTrap();
    const nodes = await startMembers(dir, [1], () => ({ metrics, diskFaults: trap }));
    cleanups.push(async () => {
      for (const node of nodes) await node.stop();
    });
    const node = (await agreedLeader(nodes)) as RaftNode;
    await put(node, "warm-up");
    const before = await batchCounts(metrics);

    const during: Array<ReturnType<typeof put>> = [];
    trap.onRaftWrite = () => {
      for (let i = 1; i < PROPOSALS; i++) during.push(put(node, `k${i}`));
    };
    await put(node, "k0");
    expect(during).toHaveLength(PROPOSALS - 1); // they arrived while k0's batch was written
    const results = await Promise.all(during);
    expect(results.every((r) => r.kind === "put")).toBe(true);

    const after = await batchCounts(metrics);
    const batches = after.batches - before.batches;
    const entries = after.entries - before.entries;
    const multi = batches - (after.singles - before.singles);
    expect(entries).toBeGreaterThanOrEqual(PROPOSALS);
    expect(batches).toBeGreaterThan(0);
    expect(batches).toBeLessThanOrEqual(20);
    expect(multi).toBeGreaterThanOrEqual(1);
  });
});
