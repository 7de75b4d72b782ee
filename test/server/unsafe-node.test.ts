// The unsafe switches that act inside the Raft loop, on one in-process member
// (real disk and loop): no-fsync persists the Ready's entries unsynced where
// the safe member syncs them; no-read-index answers the leader's linearizable
// barrier without asking the core for a read index.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { RawNode } from "../../src/raft/index.js";
import type { RaftNode } from "../../src/server/raft-node.js";
import type { UnsafeSwitch } from "../../src/server/unsafe.js";
import { DiskStore } from "../../src/storage/index.js";
import { put, startMembers } from "./in-process-members.js";

describe("unsafe switches in the Raft loop of one member", { timeout: 20_000 }, () => {
  let dir: string;
  const started: RaftNode[] = [];

  /** A one-member cluster with `unsafe`, once it leads. */
  async function member(name: string, unsafe: readonly UnsafeSwitch[]): Promise<RaftNode> {
    const [node] = await startMembers(dir, [1], () => ({
      name,
      dataDir: join(dir, name),
      unsafe: new Set(unsafe),
    }));
    if (node === undefined) throw new Error("no member started");
    started.push(node);
    const deadline = Date.now() + 10_000;
    while (!node.isLeader) {
      if (Date.now() > deadline) throw new Error(`${name} did not lead within 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await put(node, "warm-up");
    return node;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cairn-unsafe-"));
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    for (const node of started) await node.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** The sync option of every persistRaft call that wrote entries during `work`. */
  async function syncsOfEntryWrites(work: () => Promise<unknown>): Promise<boolean[]> {
    const spy = vi.spyOn(DiskStore.prototype, "persistRaft");
    await work();
    const syncs = spy.mock.calls
      .filter(([entries]) => entries.length > 0)
      .map(([, , options]) => options?.sync ?? true);
    spy.mockRestore();
    return syncs;
  }

  it("no-fsync: entries are persisted with sync=false; a safe member syncs them", async () => {
    const safe = await member("safe", []);
    const unsynced = await member("unsynced", ["no-fsync"]);
    const safeSyncs = await syncsOfEntryWrites(() => put(safe, "a"));
    const plantedSyncs = await syncsOfEntryWrites(() => put(unsynced, "a"));
    expect(safeSyncs.length).toBeGreaterThan(0);
    expect(safeSyncs.every((sync) => sync)).toBe(true);
    expect(plantedSyncs.length).toBeGreaterThan(0);
    expect(plantedSyncs.every((sync) => !sync)).toBe(true);
    // Still a working member: the write is applied and readable.
    expect(unsynced.stateMachine.kv.revision).toBeGreaterThanOrEqual(3);
  });

  it("no-read-index: the leader's barrier never asks the core for a read index", async () => {
    const safe = await member("safe-reads", []);
    const planted = await member("unconfirmed-reads", ["no-read-index"]);
    const spy = vi.spyOn(RawNode.prototype, "readIndex");
    await safe.linearizableBarrier();
    const safeRounds = spy.mock.calls.length;
    await planted.linearizableBarrier();
    expect(safeRounds).toBe(1);
    expect(spy.mock.calls.length).toBe(safeRounds);
  });
});
