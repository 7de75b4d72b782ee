// Which messages may leave before their Ready is persisted (thesis §10.2.1:
// the leader replicates while its own write runs) and why that stays safe:
// the leader counts itself toward a quorum only once its write is durable.

import { describe, expect, it } from "vitest";
import {
  EARLY_MESSAGE_TYPES,
  emptyMessage,
  MemoryStorage,
  type MessageType,
  RawNode,
  type Ready,
  splitEarlyMessages,
} from "../../src/raft/index.js";
import { fixedRand } from "../sim/rand.js";
import { msg, ofType, TestNetwork, TestNode } from "./harness.js";

const encode = (s: string) => new TextEncoder().encode(s);

const ALL_TYPES: readonly MessageType[] = [
  "MsgHup",
  "MsgBeat",
  "MsgCheckQuorum",
  "MsgProp",
  "MsgApp",
  "MsgAppResp",
  "MsgVote",
  "MsgVoteResp",
  "MsgPreVote",
  "MsgPreVoteResp",
  "MsgHeartbeat",
  "MsgHeartbeatResp",
  "MsgReadIndex",
  "MsgReadIndexResp",
  "MsgSnap",
  "MsgSnapStatus",
  "MsgUnreachable",
  "MsgTransferLeader",
  "MsgTimeoutNow",
];

function types(rd: Ready): { early: string[]; late: string[] } {
  return { early: rd.earlyMessages.map((m) => m.type), late: rd.messages.map((m) => m.type) };
}

/** A leader of [1, 2, 3] at term 2 with everything stable and applied. */
function stableLeader(): TestNetwork {
  const net = new TestNetwork([1, 2, 3]);
  net.elect(1);
  net.stabilize();
  return net;
}

describe("early messages: the classification", () => {
  it("only a leader's replication types go early, and none in a Ready that changes term or vote", () => {
    expect([...EARLY_MESSAGE_TYPES].sort()).toEqual(
      ["MsgApp", "MsgHeartbeat", "MsgReadIndexResp", "MsgSnap", "MsgTimeoutNow"].sort(),
    );
    const messages = ALL_TYPES.map((type) => emptyMessage(type, 1, 2, 3));
    const same = splitEarlyMessages(messages, false);
    expect(same.early.map((m) => m.type)).toEqual(
      ALL_TYPES.filter((t) => EARLY_MESSAGE_TYPES.has(t)),
    );
    expect(same.late.map((m) => m.type)).toEqual(
      ALL_TYPES.filter((t) => !EARLY_MESSAGE_TYPES.has(t)),
    );
    const changed = splitEarlyMessages(messages, true);
    expect(changed.early).toEqual([]);
    expect(changed.late).toEqual(messages);
  });

  it("a candidate's MsgVote waits for the persist of its term and vote", () => {
    const node = new TestNode(1);
    node.raw.campaign();
    const rd = node.raw.ready();
    expect(rd.hardState).toEqual({ term: 1, vote: 1, commit: 0 });
    expect(types(rd)).toEqual({ early: [], late: ["MsgVote", "MsgVote"] });
  });

  it("a pre-candidate's MsgPreVote waits too, though it changes no hard state", () => {
    const node = new TestNode(1, { preVote: true, hardState: { term: 3, vote: 0, commit: 0 } });
    node.raw.campaign();
    const rd = node.raw.ready();
    expect(rd.hardState).toBeNull();
    expect(types(rd)).toEqual({ early: [], late: ["MsgPreVote", "MsgPreVote"] });
  });

  it("a follower's MsgAppResp and MsgHeartbeatResp wait for the persist", () => {
    const node = new TestNode(1, { hardState: { term: 2, vote: 2, commit: 0 } });
    node.raw.step(msg("MsgApp", 2, 1, 2, { index: 0, logTerm: 0, entries: [], commit: 0 }));
    node.raw.step(msg("MsgHeartbeat", 2, 1, 2));
    const rd = node.raw.ready();
    expect(rd.hardState).toBeNull();
    expect(types(rd)).toEqual({ early: [], late: ["MsgAppResp", "MsgHeartbeatResp"] });
  });

  it("a voter's grant waits for the persist of the vote", () => {
    const node = new TestNode(1, { hardState: { term: 2, vote: 0, commit: 0 } });
    node.raw.step(msg("MsgVote", 2, 1, 2));
    const rd = node.raw.ready();
    expect(rd.hardState?.vote).toBe(2);
    expect(types(rd)).toEqual({ early: [], late: ["MsgVoteResp"] });
  });

  it("a stable leader's MsgApp and heartbeats go early", () => {
    const net = stableLeader();
    const leader = net.node(1);
    leader.raw.propose(encode("x"));
    const rd = leader.raw.ready();
    expect(rd.entries).toHaveLength(1);
    expect(types(rd)).toEqual({ early: ["MsgApp", "MsgApp"], late: [] });
    leader.storage.append(rd.entries);
    leader.raw.advance(rd);
    leader.raw.tick();
    expect(ofType(leader.raw.ready().earlyMessages, "MsgHeartbeat")).toHaveLength(2);
  });

  it("a leader's answer to a forwarded read goes early", () => {
    const net = stableLeader();
    net.node(2).raw.readIndex(encode("r1"));
    net.stabilize();
    const answers = net
      .node(1)
      .readies.flatMap((rd) => ofType(rd.earlyMessages, "MsgReadIndexResp"));
    expect(answers.map((m) => m.to)).toEqual([2]);
    expect(net.node(2).readStates.map((rs) => rs.index)).toEqual([net.node(1).status().commit]);
  });

  it("a leader's MsgTimeoutNow goes early", () => {
    const net = stableLeader();
    net.node(1).raw.transferLeader(2);
    const rd = net.node(1).raw.ready();
    expect(types(rd).early).toContain("MsgTimeoutNow");
    expect(rd.messages).toEqual([]);
  });

  it("a sole voter that wins in the Ready recording its new term sends nothing early", () => {
    const storage = new MemoryStorage({
      confState: { voters: [1], learners: [2] },
      hardState: { term: 1, vote: 0, commit: 0 },
    });
    const raw = new RawNode({
      id: 1,
      electionTicks: 10,
      heartbeatTicks: 1,
      storage,
      applied: 0,
      maxBytesPerMessage: 1 << 20,
      maxInflightMessages: 256,
      preVote: false,
      checkQuorum: false,
      rand: fixedRand(0),
    });
    raw.campaign();
    const rd = raw.ready();
    expect(rd.softState?.role).toBe("leader");
    expect(rd.hardState).toEqual({ term: 2, vote: 1, commit: 0 });
    // Its MsgApp to the learner carries an entry of term 2: had it left
    // before term 2 was durable, a restart could win term 2 again with a
    // different entry at the same index.
    expect(types(rd)).toEqual({ early: [], late: ["MsgApp"] });
  });

  it("a leader deposed by a higher-term vote request sends nothing early in that Ready", () => {
    const net = stableLeader();
    const leader = net.node(1);
    leader.raw.propose(encode("x"));
    leader.raw.step(msg("MsgVote", 3, 1, 5, { index: 10, logTerm: 4 }));
    const rd = leader.raw.ready();
    expect(rd.hardState?.term).toBe(5);
    expect(rd.earlyMessages).toEqual([]);
    expect(types(rd).late).toContain("MsgVoteResp");
  });
});

describe("early messages: safety (thesis §10.2.1)", () => {
  it("acks of early MsgApps commit only with a quorum of durable copies; the leader's counts once written", () => {
    const net = stableLeader();
    const leader = net.node(1);
    const commitBefore = leader.status().commit;
    leader.raw.propose(encode("x"));
    const rd = leader.raw.ready();
    const index = rd.entries[0]?.index ?? 0;
    // While the leader's write runs, follower 2 stores the entry and acks.
    for (const m of rd.earlyMessages.filter((m) => m.to === 2)) net.deliver(m);
    for (const m of net.node(2).flush()) net.deliver(m);
    // Its own copy is not durable: one ack is not a majority of three.
    expect(leader.status().commit).toBe(commitBefore);
    // The write lands: now leader + follower 2 are a majority.
    leader.storage.append(rd.entries);
    leader.raw.advance(rd);
    expect(leader.status().commit).toBe(index);
    const next = leader.raw.ready();
    expect(next.committedEntries.map((e) => e.index)).toEqual([index]);
  });

  it("a quorum of followers commits an entry while the leader's write is in flight; it is applied only after", () => {
    const net = stableLeader();
    const leader = net.node(1);
    leader.raw.propose(encode("x"));
    const rd = leader.raw.ready();
    const index = rd.entries[0]?.index ?? 0;
    for (const m of rd.earlyMessages) net.deliver(m);
    for (const id of [2, 3]) {
      for (const m of net.node(id).flush()) net.deliver(m);
    }
    expect(leader.status().commit).toBe(index);
    expect(rd.committedEntries.map((e) => e.index)).not.toContain(index);
    leader.storage.append(rd.entries);
    leader.raw.advance(rd);
    expect(leader.raw.ready().committedEntries.map((e) => e.index)).toEqual([index]);
  });

  it("a leader that crashes after its early MsgApps but before its write loses the entries and cannot win against the followers holding them", () => {
    const net = stableLeader();
    const leader = net.node(1);
    const lastBefore = leader.status().lastIndex;
    leader.raw.propose(encode("x"));
    const rd = leader.raw.ready();
    for (const m of rd.earlyMessages) net.deliver(m);
    for (const id of [2, 3]) net.node(id).flush(); // Stored and acked; the acks are lost.
    // Crash: the write never lands. Restart from what is durable.
    expect(leader.storage.lastIndex()).toBe(lastBefore);
    const restarted = new RawNode({
      id: 1,
      electionTicks: 10,
      heartbeatTicks: 1,
      storage: leader.storage,
      applied: 0,
      maxBytesPerMessage: 1 << 20,
      maxInflightMessages: 256,
      preVote: false,
      checkQuorum: false,
      rand: fixedRand(0),
    });
    restarted.campaign();
    const vote = restarted.ready();
    leader.storage.setHardState(vote.hardState ?? { term: 0, vote: 0, commit: 0 });
    restarted.advance(vote);
    for (const m of vote.messages) {
      expect(m.type).toBe("MsgVote");
      net.deliver(m);
    }
    for (const id of [2, 3]) {
      for (const m of net.node(id).flush()) {
        expect([m.type, m.reject]).toEqual(["MsgVoteResp", true]);
        restarted.step(m);
      }
    }
    expect(restarted.basicStatus().role).not.toBe("leader");
    for (const id of [2, 3]) {
      expect(net.node(id).storage.lastIndex()).toBe(lastBefore + 1);
    }
  });
});
