// Leadership transfer through real in-process members (disk, peer transport,
// Raft loop): the wait ends when the target leads, and writes made on the
// leader while it hands over are held and then land, instead of failing with
// "no leader" as the core's refusal used to surface.
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeMetrics } from "../../src/server/metrics.js";
import { RaftNode } from "../../src/server/raft-node.js";

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });

const LONG_MS = 20_000;

function put(node: RaftNode, key: string): ReturnType<RaftNode["propose"]> {
  return node.propose({
    kind: "put",
    key: Buffer.from(key),
    value: Buffer.from("v"),
    lease: 0,
    prevKv: false,
    ignoreValue: false,
    ignoreLease: false,
  });
}

describe("leadership transfer between in-process members", { timeout: 30_000 }, () => {
  let dir: string;
  const nodes: RaftNode[] = [];

  async function agreedLeader(): Promise<RaftNode> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const leaders = nodes.filter((n) => n.isLeader);
      const leader = leaders[0];
      if (leaders.length === 1 && leader && nodes.every((n) => n.leaderId === leader.id)) {
        return leader;
      }
      if (Date.now() > deadline) throw new Error("no agreed leader within 15 s");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cairn-transfer-"));
    const ids = [1, 2, 3];
    const ports = await Promise.all(ids.map(() => freePort()));
    const members = new Map(
      ids.map((id, i) => [id, { name: `n${id}`, peerAddress: `127.0.0.1:${ports[i]}` }]),
    );
    for (const [i, id] of ids.entries()) {
      nodes.push(
        await RaftNode.start({
          name: `n${id}`,
          id,
          clusterId: 7,
          dataDir: join(dir, `n${id}`),
          listenPeer: `127.0.0.1:${ports[i]}`,
          members,
          initialClusterState: "new",
          snapshotCount: 10_000,
          snapshotCatchupEntries: 5_000,
          // A 1 s election timeout: no election of its own on a busy machine.
          tickMs: 50,
          electionTicks: 20,
          heartbeatTicks: 1,
          requestTimeoutMs: 10_000,
          maxRequestBytes: 1024 * 1024,
          maxTxnOps: 128,
          logger: pino({ level: "silent" }),
          metrics: new NodeMetrics(),
        }),
      );
    }
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
