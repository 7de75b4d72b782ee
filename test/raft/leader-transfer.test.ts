// Leadership transfer (thesis §3.10, etcd-io/raft's MsgTransferLeader and
// MsgTimeoutNow): the leader catches the target up, then tells it to campaign
// at once; it refuses new proposals meanwhile and gives up after one election
// timeout. Each test has an init / act / check shape.

import { describe, expect, it } from "vitest";
import type { Message } from "../../src/raft/index.js";
import { validateInboundBatch } from "../../src/transport/inbound-stream.js";
import { msg, ofType, TestNetwork, TestNode } from "./harness.js";

const ELECTION = 10;
const data = (text: string) => new TextEncoder().encode(text);

/** Node 1 leads a 3-node cluster at term 1 and everyone has its no-op. */
function clusterLedBy1(checkQuorum = false): TestNetwork {
  const net = new TestNetwork([1, 2, 3], () => ({ preVote: checkQuorum, checkQuorum }));
  net.elect(1);
  net.stabilize();
  return net;
}

/** Like TestNetwork.stabilize, but shows every message to `watch` before it is delivered. */
function stabilizeWatching(net: TestNetwork, watch: (m: Message) => void): void {
  for (let round = 0; round < 200; round++) {
    const inFlight = [...net.nodes.values()].flatMap((node) => node.flush());
    if (inFlight.length === 0) return;
    for (const m of inFlight) {
      watch(m);
      net.deliver(m);
    }
  }
  throw new Error("network not quiet after 200 rounds");
}

describe("leadership transfer", () => {
  it("a caught-up target is told to campaign at once and wins the next term", () => {
    // Reference: thesis §3.10
    const net = clusterLedBy1();
    const term = net.node(1).status().term;
    net.node(1).raw.transferLeader(2);
    const sent = net.node(1).flush();
    expect(ofType(sent, "MsgTimeoutNow").map((m) => m.to)).toEqual([2]);
    for (const m of sent) net.deliver(m);
    net.stabilize();
    expect(net.leaders()).toEqual([2]);
    // A transfer is one real election without pre-vote: exactly one term.
    expect(net.node(2).status().term).toBe(term + 1);
    expect(net.node(1).status()).toMatchObject({ role: "follower", leader: 2, term: term + 1 });
  });

  it("a lagging target is caught up first: MsgTimeoutNow only once its log matches", () => {
    // Reference: thesis §3.10 step 1
    const net = clusterLedBy1();
    net.cutLink(1, 3);
    for (const text of ["a", "b", "c"]) net.node(1).raw.propose(data(text));
    net.stabilize();
    const leaderLast = net.node(1).status().lastIndex;
    expect(net.node(3).status().lastIndex).toBeLessThan(leaderLast);
    net.heal();
    net.node(1).raw.transferLeader(3);
    const first = net.node(1).flush();
    expect(ofType(first, "MsgTimeoutNow")).toEqual([]);
    expect(ofType(first, "MsgApp").map((m) => m.to)).toContain(3);
    const timeoutNowAt: number[] = [];
    for (const m of first) net.deliver(m);
    stabilizeWatching(net, (m) => {
      if (m.type === "MsgTimeoutNow") timeoutNowAt.push(net.node(3).status().lastIndex);
    });
    expect(timeoutNowAt).toEqual([leaderLast]);
    expect(net.leaders()).toEqual([3]);
    expect(
      net
        .node(3)
        .log()
        .map((e) => e.term),
    ).toEqual(
      net
        .node(1)
        .log()
        .map((e) => e.term),
    );
  });

  it("the leader refuses proposals while transferring, its own and forwarded ones", () => {
    // Reference: etcd-io/raft stepLeader (ErrProposalDropped while leadTransferee is set)
    const net = clusterLedBy1();
    net.cutLink(1, 2); // The MsgTimeoutNow is lost: the transfer stays under way.
    net.node(1).raw.transferLeader(2);
    const lastIndex = net.node(1).status().lastIndex;
    expect(net.node(1).raw.propose(data("own"))).toEqual({
      ok: false,
      reason: "transferring-leadership",
    });
    expect(net.node(3).raw.propose(data("forwarded"))).toEqual({ ok: true });
    net.stabilize();
    expect(net.node(1).status().lastIndex).toBe(lastIndex);
    expect(net.node(1).status().leadTransferee).toBe(2);
  });

  it("is abandoned after one election timeout; a repeated request does not extend it", () => {
    // Reference: etcd-io/raft tickHeartbeat (abortLeaderTransfer)
    const net = clusterLedBy1();
    net.cutLink(1, 2);
    net.node(1).raw.transferLeader(2);
    net.tick(1, ELECTION - 1);
    net.node(1).raw.transferLeader(2); // already under way: the clock keeps running
    expect(net.node(1).status().leadTransferee).toBe(2);
    net.tick(1, 1);
    expect(net.node(1).status().leadTransferee).toBe(0);
    expect(net.node(1).status().role).toBe("leader");
    expect(net.node(1).eventNames()).toContain("leader-transfer-aborted");
    expect(net.node(1).raw.propose(data("x"))).toEqual({ ok: true });
  });

  it("a request for another target replaces the transfer under way", () => {
    const net = clusterLedBy1();
    net.cutLink(1, 2);
    net.node(1).raw.transferLeader(2);
    net.node(1).raw.transferLeader(3);
    expect(net.node(1).status().leadTransferee).toBe(3);
    net.stabilize();
    expect(net.leaders()).toEqual([3]);
    expect(net.node(1).events.filter((e) => e.name === "leader-transfer-aborted")).toEqual([
      expect.objectContaining({ fields: expect.objectContaining({ to: 2 }) }),
    ]);
  });

  it("transferring to itself or to a non-voter is ignored", () => {
    const net = clusterLedBy1();
    for (const target of [1, 9]) {
      net.node(1).raw.transferLeader(target);
      expect(net.node(1).status().leadTransferee).toBe(0);
      expect(net.node(1).flush()).toEqual([]);
    }
    expect(net.node(1).events.filter((e) => e.name === "leader-transfer-ignored")).toHaveLength(2);
    expect(net.node(1).raw.propose(data("x"))).toEqual({ ok: true });
  });

  it("a follower asks its leader for leadership for itself, and gets it", () => {
    const net = clusterLedBy1();
    net.node(2).raw.transferLeader(2);
    const sent = net.node(2).flush();
    expect(sent.map((m) => [m.type, m.from, m.to])).toEqual([["MsgTransferLeader", 2, 1]]);
    for (const m of sent) net.deliver(m);
    net.stabilize();
    expect(net.leaders()).toEqual([2]);
  });

  it("a follower does not ask on another node's behalf: the transport could not tell it from a forgery", () => {
    // The peer transport accepts a message only if `from` is the peer that
    // sent it; etcd's forwarding sets `from` to the transferee instead.
    const net = clusterLedBy1();
    net.node(3).raw.transferLeader(2);
    const sent = net.node(3).flush();
    for (const m of sent) {
      expect(() =>
        validateInboundBatch(
          { from: 3, clusterId: 7, pingId: 0, messages: [m] },
          { selfId: m.to, clusterId: 7, peer: 3 },
        ),
      ).not.toThrow();
    }
    expect(sent).toEqual([]);
    expect(net.node(3).eventNames()).toContain("leader-transfer-ignored");
    net.stabilize();
    expect(net.leaders()).toEqual([1]);
  });

  it("the transferee's vote request passes the voters' leader lease (check-quorum on)", () => {
    // Reference: thesis §4.2.3 (a transfer is the one vote a lease must not block)
    const net = clusterLedBy1(true);
    const term = net.node(1).status().term;
    net.node(1).raw.transferLeader(3);
    net.stabilize();
    expect(net.leaders()).toEqual([3]);
    expect(net.node(2).status()).toMatchObject({ term: term + 1, vote: 3, leader: 3 });
    expect(net.node(2).eventNames()).not.toContain("vote-ignored-in-lease");
  });

  it("a candidate ignores MsgTimeoutNow: it is already campaigning", () => {
    const node = new TestNode(1);
    node.raw.campaign();
    node.flush();
    const { term } = node.status();
    node.raw.step(msg("MsgTimeoutNow", 2, 1, term));
    expect(node.flush()).toEqual([]);
    expect(node.status()).toMatchObject({ role: "candidate", term });
  });
});
