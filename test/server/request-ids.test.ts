// Regression: request ids are only unique per member (boot clock × 1000 + a
// counter). Members booted in the same millisecond hand out the same ids, and
// a member used to resolve its own waiter with another member's command that
// carried the same id: a client got someone else's result (CI saw a v3lock
// caller told "session is expired" for a claim that had succeeded).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ownKeyQuery } from "../../src/server/lock/queue-keys.js";
import type { RaftNode } from "../../src/server/raft-node.js";
import { agreedLeader, put, startMembers } from "./in-process-members.js";

describe("request ids of members booted in the same millisecond", { timeout: 30_000 }, () => {
  let dir: string;
  const nodes: RaftNode[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cairn-request-ids-"));
    // Every member reads the same boot clock, so all start from the same id.
    const now = vi.spyOn(Date, "now").mockReturnValue(1_700_000_000_000);
    try {
      nodes.push(...(await startMembers(dir, [1, 2, 3])));
    } finally {
      now.mockRestore();
    }
    // Every member must know the leader, or a follower's proposal fails with "no leader".
    await agreedLeader(nodes);
  });

  afterAll(async () => {
    for (const node of nodes) await node.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("answers each proposer with its own command's result", async () => {
    for (let round = 0; round < 5; round++) {
      const results = await Promise.all(nodes.map((node, i) => put(node, `k${round}-${i}`)));
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
