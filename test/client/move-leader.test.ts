// Cairn.moveLeader over a fake transport: MoveLeader goes to the endpoint
// that leads, the target is resolved by name or hex id, a leader that moved
// meanwhile is followed (boundedly), and the failures say what was wrong.
import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { Cairn } from "../../src/client/client.js";
import { CairnRpcError, LeaderNotFoundError, UnknownMemberError } from "../../src/client/errors.js";
import { MOVE_ROUNDS_MAX, resolveTarget } from "../../src/client/leader-transfer.js";
import { FakeTransport, grpcError, type UnaryHandler } from "./fake-transport.js";

const ENDPOINTS = ["a:1", "b:2", "c:3"];
const MOVE = "/etcdserverpb.Maintenance/MoveLeader";
const STATUS = "/cairn.v1.Node/Status";
const MEMBERS = [
  { id: 0xa1, name: "n1" },
  { id: 0xb2, name: "n2" },
  { id: 0xc3, name: "n3" },
];

/** Node.Status of endpoint i (member i) when `leader` (an index, or -1) leads at `term`. */
function nodeStatus(i: number, leader: number, term = 4) {
  const self = MEMBERS[i] as { id: number; name: string };
  const lead = MEMBERS[leader];
  return {
    ...self,
    role: i === leader ? "leader" : "follower",
    term,
    leaderId: lead?.id ?? 0,
    leaderName: lead?.name ?? "",
    peers: MEMBERS.filter((m) => m.id !== self.id),
  };
}

function client(handler: UnaryHandler) {
  const transport = new FakeTransport(ENDPOINTS, handler);
  const cairn = new Cairn({
    endpoints: ENDPOINTS,
    transport,
    backoff: { baseMs: 1, maxMs: 2 },
    timeoutMs: 1_000,
  });
  return { cairn, transport };
}

describe("Cairn.moveLeader", () => {
  it("asks the member that leads, for the target's id, and reports the move", async () => {
    const { cairn, transport } = client(({ endpoint, path }) =>
      path === STATUS ? nodeStatus(endpoint, 1) : { header: { raftTerm: 5 } },
    );
    const moved = await cairn.moveLeader("n3");
    expect(moved).toEqual({ from: MEMBERS[1], to: MEMBERS[2], term: 5 });
    expect(transport.callsTo(MOVE).map((c) => [c.endpoint, c.request])).toEqual([
      [1, { targetID: 0xc3 }],
    ]);
  });

  it("takes a hex id or a number as well as a name", async () => {
    const { cairn, transport } = client(({ endpoint, path }) =>
      path === STATUS ? nodeStatus(endpoint, 0) : { header: { raftTerm: 5 } },
    );
    await cairn.moveLeader("b2");
    await cairn.moveLeader(0xc3);
    expect(transport.callsTo(MOVE).map((c) => c.request)).toEqual([
      { targetID: 0xb2 },
      { targetID: 0xc3 },
    ]);
  });

  it("a target that already leads is done without a call", async () => {
    const { cairn, transport } = client(({ endpoint }) => nodeStatus(endpoint, 2));
    expect(await cairn.moveLeader("n3")).toEqual({ from: MEMBERS[2], to: MEMBERS[2], term: 4 });
    expect(transport.callsTo(MOVE)).toEqual([]);
  });

  it("an unknown target fails before any MoveLeader, listing the members", async () => {
    const { cairn, transport } = client(({ endpoint }) => nodeStatus(endpoint, 0));
    const error = await cairn.moveLeader("n9").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownMemberError);
    expect((error as Error).message).toBe(
      'no member is named or has the id "n9"; members: n1 (a1), n2 (b2), n3 (c3)',
    );
    await expect(cairn.moveLeader(0xdead)).rejects.toBeInstanceOf(UnknownMemberError);
    expect(transport.callsTo(MOVE)).toEqual([]);
  });

  it("follows a leader that moved between its status and the call", async () => {
    let leader = 0;
    const { cairn, transport } = client(({ endpoint, path }) => {
      if (path === STATUS) return nodeStatus(endpoint, leader);
      if (endpoint !== 1) {
        leader = 1;
        throw grpcError(status.FAILED_PRECONDITION, "etcdserver: not leader");
      }
      return { header: { raftTerm: 6 } };
    });
    expect(await cairn.moveLeader("n3")).toMatchObject({ from: MEMBERS[1], to: MEMBERS[2] });
    expect(transport.callsTo(MOVE).map((c) => c.endpoint)).toEqual([0, 1]);
  });

  it("gives up with 'not leader' after a bounded number of rounds", async () => {
    const { cairn, transport } = client(({ endpoint, path }) => {
      if (path === STATUS) return nodeStatus(endpoint, 0);
      throw grpcError(status.FAILED_PRECONDITION, "etcdserver: not leader");
    });
    await expect(cairn.moveLeader("n2")).rejects.toMatchObject({
      details: "etcdserver: not leader",
    });
    expect(transport.callsTo(MOVE)).toHaveLength(MOVE_ROUNDS_MAX);
  });

  it("passes the server's refusal through (bad transferee, transfer took too long)", async () => {
    const { cairn } = client(({ endpoint, path }) => {
      if (path === STATUS) return nodeStatus(endpoint, 0);
      throw grpcError(
        status.UNAVAILABLE,
        "etcdserver: request timed out, leader transfer took too long",
      );
    });
    const error = await cairn.moveLeader("n2").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CairnRpcError);
    expect(error).toMatchObject({
      code: status.UNAVAILABLE,
      details: "etcdserver: request timed out, leader transfer took too long",
    });
  });

  it("says so when no endpoint leads, naming the leader the others report", async () => {
    const { cairn } = client(({ endpoint }) => {
      if (endpoint === 2) throw grpcError(status.UNAVAILABLE, "No connection established");
      return nodeStatus(endpoint, 2);
    });
    const error = await cairn.moveLeader("n1").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LeaderNotFoundError);
    expect((error as Error).message).toBe(
      "the leader is n3, which is not among the endpoints a:1, b:2, c:3",
    );
  });
});

describe("resolveTarget", () => {
  it("prefers a name over an id that reads the same", () => {
    const members = [
      { id: 0xab, name: "n1" },
      { id: 0x1, name: "ab" },
    ];
    expect(resolveTarget("ab", members)).toEqual({ id: 0x1, name: "ab" });
    expect(resolveTarget("0xAB", members)).toEqual({ id: 0xab, name: "n1" });
  });
});
