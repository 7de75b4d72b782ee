// Regression: request ids are only unique per member (boot clock × 1000 + a
// counter). Members booted in the same millisecond hand out the same ids, and
// a member used to resolve its own waiter with another member's command that
// carried the same id: a client got someone else's result (CI saw a v3lock
// caller told "session is expired" for a claim that had succeeded).
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ownKeyQuery } from "../../src/server/lock/queue-keys.js";
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

describe("request ids of members booted in the same millisecond", { timeout: 30_000 }, () => {
  let dir: string;
  const nodes: RaftNode[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cairn-request-ids-"));
    const ids = [1, 2, 3];
    const ports = await Promise.all(ids.map(() => freePort()));
    const members = new Map(
      ids.map((id, i) => [id, { name: `n${id}`, peerAddress: `127.0.0.1:${ports[i]}` }]),
    );
    // Every member reads the same boot clock, so all start from the same id.
    const now = vi.spyOn(Date, "now").mockReturnValue(1_700_000_000_000);
    try {
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
            tickMs: 20,
            electionTicks: 10,
            heartbeatTicks: 1,
            requestTimeoutMs: 10_000,
            maxRequestBytes: 1024 * 1024,
            maxTxnOps: 128,
            logger: pino({ level: "silent" }),
            metrics: new NodeMetrics(),
          }),
        );
      }
    } finally {
      now.mockRestore();
    }
    const deadline = Date.now() + 15_000;
    // Every member must know the leader, or a follower's proposal fails with "no leader".
    const agreed = () =>
      nodes.some((n) => n.isLeader) && nodes.every((n) => n.leaderId === nodes[0]?.leaderId);
    while (!agreed() && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(agreed()).toBe(true);
  });

  afterAll(async () => {
    for (const node of nodes) await node.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("answers each proposer with its own command's result", async () => {
    for (let round = 0; round < 5; round++) {
      const results = await Promise.all(
        nodes.map((node, i) =>
          node.propose({
            kind: "put",
            key: Buffer.from(`k${round}-${i}`),
            value: Buffer.from("v"),
            lease: 0,
            prevKv: false,
            ignoreValue: false,
            ignoreLease: false,
          }),
        ),
      );
      for (const [i, result] of results.entries()) {
        expect(result.kind).toBe("put");
        if (result.kind !== "put") continue;
        // The proposer has applied its own command before answering.
        const own = nodes[i]?.stateMachine.range(ownKeyQuery(Buffer.from(`k${round}-${i}`)));
        expect(own?.kind).toBe("range");
        if (own?.kind !== "range") continue;
        expect(own.ok.kvs[0]?.modRevision).toBe(result.ok.revision);
      }
    }
  });
});
