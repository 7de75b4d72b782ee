// Leadership transfer through real in-process members (disk, peer transport,
// Raft loop): the wait ends when the target leads, and writes made on the
// leader while it hands over are held and then land, instead of failing with
// "no leader" as the core's refusal used to surface.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RaftNode } from "../../src/server/raft-node.js";
import { agreedLeader as agreed, put, startMembers } from "./in-process-members.js";

const LONG_MS = 20_000;

describe("leadership transfer between in-process members", { timeout: 30_000 }, () => {
  let dir: string;
  const nodes: RaftNode[] = [];

  const agreedLeader = (): Promise<RaftNode> => agreed(nodes);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cairn-transfer-"));
    // A 1 s election timeout: no election of its own on a busy machine.
    const slow = { tickMs: 50, electionTicks: 20 };
    nodes.push(...(await startMembers(dir, [1, 2, 3], () => slow)));
    await agreedLeader();
  });

  afterAll(async () => {
    for (const node of nodes) await node.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("moves leadership to the target in exactly one term; writes made meanwhile land", async () => {
    const leader = await agreedLeader();
    await put(leader, "warm-up");
    const target = nodes.find((n) => n !== leader) as RaftNode;
    const term = leader.status().term;
    const moved = leader.transferLeadership(target.id, LONG_MS);
    // Queued behind the transfer request: the core refuses them while it runs.
    const writes = Array.from({ length: 20 }, (_, i) => put(leader, `during-${i}`));
    await moved;
    expect(leader.leaderId).toBe(target.id);
    const results = await Promise.all(writes);
    expect(results.map((r) => r.kind)).toEqual(results.map(() => "put"));
    expect(target.status().term).toBe(term + 1);
    expect(leader.isLeader).toBe(false);
  });

  it("a transfer to a member that cannot answer is given up; writes held meanwhile land here", async () => {
    const leader = await agreedLeader();
    const silent = nodes.find((n) => n !== leader) as RaftNode;
    await silent.stop();
    const moved = leader.transferLeadership(silent.id, LONG_MS);
    const writes = Array.from({ length: 5 }, (_, i) => put(leader, `aborted-${i}`));
    await expect(moved).rejects.toMatchObject({
      code: "LEADER_TRANSFER_TIMEOUT",
      message: "etcdserver: request timed out, leader transfer took too long",
    });
    expect(leader.isLeader).toBe(true);
    const results = await Promise.all(writes);
    expect(results.map((r) => r.kind)).toEqual(results.map(() => "put"));
    expect(leader.status().leadTransferee).toBe(0);
  });
});
