// Real cairn members inside the test process (LevelDB on disk, gRPC peer
// transport on loopback, the Raft loop), for tests that need to reach into a
// member: its options, its state machine, spies on its disk. One place for
// the option defaults and the wait for a leader, shared by those tests.
import { join } from "node:path";
import { pino } from "pino";
import { freePorts } from "../../cluster/ports.js";
import type { NodeId } from "../../src/raft/types.js";
import { NodeMetrics } from "../../src/server/metrics.js";
import { RaftNode, type RaftNodeOptions } from "../../src/server/raft-node.js";

export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port ?? 0;
}

export type MemberOverrides = Partial<Omit<RaftNodeOptions, "id" | "members" | "listenPeer">>;

/**
 * Starts members `ids` of one new cluster under `dir` (ids double as member
 * ids, names are n<id>); `overrides(id)` adjusts one member's options, and
 * `ports` fixes the peer ports (e.g. to restart a member where it was).
 */
export async function startMembers(
  dir: string,
  ids: readonly NodeId[],
  overrides: (id: NodeId) => MemberOverrides = () => ({}),
  ports?: readonly number[],
): Promise<RaftNode[]> {
  ports ??= await freePorts(ids.length);
  const members = new Map(
    ids.map((id, i) => [id, { name: `n${id}`, peerAddress: `127.0.0.1:${ports[i]}` }]),
  );
  const nodes: RaftNode[] = [];
  for (const [i, id] of ids.entries()) {
    nodes.push(
      await RaftNode.start({
        name: `n${id}`,
        id,
        clusterId: 7,
        dataDir: join(dir, `n${id}`),
        listenPeer: `127.0.0.1:${ports?.[i]}`,
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
        ...overrides(id),
      }),
    );
  }
  return nodes;
}

/** Resolves with the leader once every member names the same one. */
export async function agreedLeader(
  nodes: readonly RaftNode[],
  timeoutMs = 15_000,
): Promise<RaftNode> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const leaders = nodes.filter((n) => n.isLeader);
    const leader = leaders[0];
    if (leaders.length === 1 && leader && nodes.every((n) => n.leaderId === leader.id)) {
      return leader;
    }
    if (Date.now() > deadline) throw new Error(`no agreed leader within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A plain put of `key` = "v" through `node`. */
export function put(node: RaftNode, key: string): ReturnType<RaftNode["propose"]> {
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
