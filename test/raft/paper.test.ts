// One test per rule of the Raft paper (§5.1–5.4, §8) and of the extensions
// cairn enables (pre-vote, check-quorum, leader lease; thesis §6.4, §9.6).
// Each test has an init / act / check shape and cites the section it covers.

import { describe, expect, it } from "vitest";
import { SeededRand } from "../sim/rand.js";
import { msg, ofType, TestNetwork, TestNode } from "./harness.js";
import { entriesWithTerms, entry, termsOf, text } from "./helpers.js";

const ELECTION = 10;

/** A node that campaigned and holds the given votes (preVote off). */
function candidate(id = 1, voters = [1, 2, 3]): TestNode {
  const node = new TestNode(id, { voters });
  node.raw.campaign();
  node.flush();
  return node;
}

/** Node 1 as leader of a 3-node cluster at term 1, with its no-op committed. */
function leaderWithCommittedNoop(): TestNetwork {
  const net = new TestNetwork([1, 2, 3]);
  net.elect(1);
  net.stabilize();
  return net;
}

describe("§5.1 terms", () => {
  for (const role of ["follower", "candidate", "leader"] as const) {
    it(`a ${role} that sees a higher term adopts it and becomes follower`, () => {
      // Reference: §5.1
      // init
      const net = new TestNetwork([1, 2, 3]);
      if (role === "candidate") {
        net.node(1).raw.campaign();
        net.node(1).flush();
      } else if (role === "leader") {
        net.elect(1);
      }
      const term = net.node(1).status().term;
      // act
      net.node(1).raw.step(msg("MsgApp", 2, 1, term + 5, { index: 0, logTerm: 0 }));
      // check
      const status = net.node(1).status();
      expect(status.term).toBe(term + 5);
      expect(status.role).toBe("follower");
      expect(status.leader).toBe(2);
    });
  }

  it("a node ignores requests from an older term", () => {
    // Reference: §5.1
    const node = new TestNode(1, { hardState: { term: 3, vote: 0, commit: 0 } });
    node.raw.step(msg("MsgApp", 2, 1, 2, { index: 0, logTerm: 0, entries: [entry(1, 2, "x")] }));
    expect(node.flush()).toEqual([]); // Neither appended nor answered (pre-vote/check-quorum off).
    expect(node.status().lastIndex).toBe(0);
    expect(node.status().term).toBe(3);
  });
});

describe("§5.2 leader election", () => {
  it("nodes start as followers with no leader", () => {
    // Reference: §5.2
    const status = new TestNode(1).status();
    expect(status.role).toBe("follower");
    expect(status.leader).toBe(0);
  });

  it("the leader sends heartbeats every heartbeatTicks", () => {
    // Reference: §5.2
    const net = leaderWithCommittedNoop();
    const leader = net.node(1);
    leader.raw.tick();
    const beats = ofType(leader.flush(), "MsgHeartbeat");
    expect(beats.map((m) => m.to).sort()).toEqual([2, 3]);
    expect(beats.every((m) => m.term === 1)).toBe(true);
  });

  it("a follower that hears nothing for its election timeout starts an election", () => {
    // Reference: §5.2
    const node = new TestNode(1);
    for (let t = 0; t < ELECTION - 1; t++) {
      node.raw.tick();
    }
    expect(node.status().role).toBe("follower");
    node.raw.tick();
    const status = node.status();
    expect(status.role).toBe("candidate");
    expect(status.term).toBe(1);
    expect(status.vote).toBe(1);
    const votes = ofType(node.flush(), "MsgVote");
    expect(votes.map((m) => m.to).sort()).toEqual([2, 3]);
    expect(votes.every((m) => m.term === 1 && m.index === 0 && m.logTerm === 0)).toBe(true);
    expect(node.events.find((e) => e.name === "election-start")?.fields.reason).toBe(
      "election timeout, leader silent for 10 ticks",
    );
  });

  it("a candidate whose election times out starts a new election in the next term", () => {
    // Reference: §5.2
    const node = candidate();
    for (let t = 0; t < ELECTION; t++) {
      node.raw.tick();
    }
    expect(node.status().role).toBe("candidate");
    expect(node.status().term).toBe(2);
    expect(ofType(node.flush(), "MsgVote").every((m) => m.term === 2)).toBe(true);
  });

  const elections: readonly {
    readonly size: number;
    readonly grants: readonly number[];
    readonly rejects: readonly number[];
    readonly role: string;
  }[] = [
    { size: 1, grants: [], rejects: [], role: "leader" },
    { size: 3, grants: [2], rejects: [], role: "leader" },
    { size: 3, grants: [], rejects: [], role: "candidate" },
    { size: 3, grants: [], rejects: [2, 3], role: "follower" },
    { size: 5, grants: [2], rejects: [], role: "candidate" },
    { size: 5, grants: [2, 3], rejects: [4], role: "leader" },
    { size: 5, grants: [2], rejects: [3, 4], role: "candidate" },
    { size: 5, grants: [2], rejects: [3, 4, 5], role: "follower" },
  ];
  for (const { size, grants, rejects, role } of elections) {
    it(`a candidate of ${size} with grants [${grants}] and rejections [${rejects}] ends up ${role}`, () => {
      // Reference: §5.2 (elected once it has votes from a majority, in one round)
      const voters = Array.from({ length: size }, (_, k) => k + 1);
      const node = candidate(1, voters);
      for (const from of grants) {
        node.raw.step(msg("MsgVoteResp", from, 1, 1));
      }
      for (const from of rejects) {
        node.raw.step(msg("MsgVoteResp", from, 1, 1, { reject: true }));
      }
      expect(node.status().role).toBe(role);
    });
  }

  it("a follower votes at most once per term, first come first served", () => {
    // Reference: §5.2
    const node = new TestNode(1, { hardState: { term: 1, vote: 0, commit: 0 } });
    node.raw.step(msg("MsgVote", 2, 1, 1));
    node.raw.step(msg("MsgVote", 3, 1, 1));
    node.raw.step(msg("MsgVote", 2, 1, 1)); // A retry from the same candidate.
    const answers = ofType(node.flush(), "MsgVoteResp").map((m) => [m.to, m.reject]);
    expect(answers).toEqual([
      [2, false],
      [3, true],
      [2, false],
    ]);
    expect(node.storage.initialState().hardState.vote).toBe(2);
  });

  it("a candidate that receives AppendEntries from the leader of its term becomes follower", () => {
    // Reference: §5.2
    const node = candidate();
    node.raw.step(msg("MsgApp", 2, 1, 1, { index: 0, logTerm: 0 }));
    expect(node.status().role).toBe("follower");
    expect(node.status().leader).toBe(2);
    expect(node.status().term).toBe(1);
  });

  it("election timeouts are randomized in [T, 2T)", () => {
    // Reference: §5.2
    const observed = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const node = new TestNode(1, { rand: new SeededRand(seed) });
      let ticks = 0;
      while (node.status().role === "follower") {
        node.raw.tick();
        ticks += 1;
      }
      observed.add(ticks);
    }
    expect(Math.min(...observed)).toBeGreaterThanOrEqual(ELECTION);
    expect(Math.max(...observed)).toBeLessThan(2 * ELECTION);
    expect(observed.size).toBeGreaterThan(4);
  });

  it("randomized timeouts let one follower campaign before the others", () => {
    // Reference: §5.2
    const net = new TestNetwork([1, 2, 3], (id) => ({ rand: new SeededRand(id * 17) }));
    for (let t = 0; t < 2 * ELECTION && net.leaders().length === 0; t++) {
      net.tickAll();
    }
    expect(net.leaders()).toHaveLength(1);
    const terms = [1, 2, 3].map((id) => net.node(id).status().term);
    expect(new Set(terms).size).toBe(1);
    expect(terms[0]).toBe(1); // Decided in the first term: no split vote.
  });
});

describe("§5.3 log replication", () => {
  it("a new leader appends a no-op entry of its term", () => {
    // Reference: §8 (and §5.4.2: it commits earlier entries indirectly)
    const net = new TestNetwork([1, 2, 3], () => ({
      terms: [1, 1],
      hardState: { term: 1, vote: 0, commit: 0 },
    }));
    const leader = net.elect(1);
    const noop = leader.log()[2];
    expect(noop?.term).toBe(2);
    expect(noop?.data.byteLength).toBe(0);
    expect(leader.status().commit).toBe(3);
  });

  it("the leader appends a proposal and sends it to every follower", () => {
    // Reference: §5.3
    const net = leaderWithCommittedNoop();
    const leader = net.node(1);
    expect(leader.raw.propose(new TextEncoder().encode("x"))).toEqual({ ok: true });
    const apps = ofType(leader.flush(), "MsgApp");
    expect(apps.map((m) => m.to).sort()).toEqual([2, 3]);
    for (const m of apps) {
      expect([m.index, m.logTerm, m.commit]).toEqual([1, 1, 1]);
      expect(m.entries.map((e) => [e.index, e.term, text(e.data)])).toEqual([[2, 1, "x"]]);
    }
  });

  it("the leader commits an entry once a majority stored it, and followers learn of it", () => {
    // Reference: §5.3
    const net = leaderWithCommittedNoop();
    net.isolate(3);
    net.node(1).raw.propose(new TextEncoder().encode("x"));
    net.stabilize();
    expect(net.node(1).status().commit).toBe(2);
    expect(text(net.node(1).applied[1]?.data ?? new Uint8Array())).toBe("x");
    expect(net.node(2).status().commit).toBe(2);
    expect(net.node(3).status().commit).toBe(1);
  });

  it("committing an entry also commits every entry before it", () => {
    // Reference: §5.3
    const net = leaderWithCommittedNoop();
    net.isolate(2);
    net.isolate(3);
    for (const payload of ["a", "b", "c"]) {
      net.node(1).raw.propose(new TextEncoder().encode(payload));
    }
    net.stabilize();
    expect(net.node(1).status().commit).toBe(1);
    net.heal();
    net.tickAll(); // A heartbeat round re-opens replication to the probing followers.
    expect(net.node(1).status().commit).toBe(4);
    expect(net.node(1).applied.map((e) => text(e.data))).toEqual(["", "a", "b", "c"]);
  });

  const mismatches = [
    { name: "prev index beyond the log", index: 3, logTerm: 2, accept: false },
    { name: "prev entry of another term", index: 2, logTerm: 1, accept: false },
    { name: "matching prev entry", index: 2, logTerm: 2, accept: true },
    { name: "matching older entry", index: 1, logTerm: 1, accept: true },
    { name: "empty prefix", index: 0, logTerm: 0, accept: true },
  ];
  for (const { name, index, logTerm, accept } of mismatches) {
    it(`a follower ${accept ? "accepts" : "rejects"} MsgApp with ${name}`, () => {
      // Reference: §5.3 (consistency check of AppendEntries)
      const node = new TestNode(1, { terms: [1, 2], hardState: { term: 2, vote: 0, commit: 1 } });
      node.raw.step(msg("MsgApp", 2, 1, 2, { index, logTerm, commit: 1 }));
      const [resp] = ofType(node.flush(), "MsgAppResp");
      expect(resp?.reject).toBe(!accept);
      expect(resp?.index).toBe(accept ? Math.max(index, 1) : index);
    });
  }

  const appends = [
    { prev: [2, 2], entries: [3], result: [1, 2, 3] },
    { prev: [1, 1], entries: [3, 4], result: [1, 3, 4] },
    { prev: [0, 0], entries: [1], result: [1, 2] },
    { prev: [0, 0], entries: [3], result: [3] },
  ] as const;
  for (const { prev, entries, result } of appends) {
    it(`a follower with terms [1, 2] given ${entries} after ${prev} ends with [${result}]`, () => {
      // Reference: §5.3 (delete conflicting entries and all that follow, append new ones)
      const node = new TestNode(1, { terms: [1, 2], hardState: { term: 2, vote: 0, commit: 0 } });
      const [index, logTerm] = prev;
      const sent = entriesWithTerms(entries, index + 1);
      node.raw.step(msg("MsgApp", 2, 1, 4, { index, logTerm, entries: sent }));
      node.flush();
      expect(termsOf(node.log())).toEqual([...result]);
    });
  }

  it("the leader brings every Figure 7 follower in line and never rewrites its own log", () => {
    // Reference: §5.3, Figure 7
    const leaderTerms = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    const followers = [
      [1, 1, 1, 4, 4, 5, 5, 6, 6], // (a) missing one entry
      [1, 1, 1, 4], // (b) missing many
      [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6], // (c) an extra uncommitted entry
      [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7], // (d) extra entries of a later term
      [1, 1, 1, 4, 4, 4, 4], // (e) divergent term-4 tail
      [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], // (f) divergent terms 2 and 3
    ];
    for (const followerTerms of followers) {
      const net = new TestNetwork([1, 2, 3], (id) =>
        id === 1
          ? { terms: leaderTerms, hardState: { term: 7, vote: 0, commit: 0 } }
          : id === 2
            ? { terms: followerTerms, hardState: { term: 7, vote: 0, commit: 0 } }
            : { terms: [], hardState: { term: 7, vote: 0, commit: 0 } },
      );
      net.cutLink(1, 3);
      net.cutLink(3, 1);
      net.node(1).raw.campaign();
      net.node(1).raw.step(msg("MsgVoteResp", 3, 1, 8)); // Node 3's vote: it is behind every log.
      const before = net.node(1).log();
      net.stabilize();
      net.tickAll();
      const after = net.node(1).log();
      expect(after.slice(0, before.length)).toEqual(before);
      expect(termsOf(net.node(2).log())).toEqual([...leaderTerms, 8]);
    }
  });

  it("a divergent follower tail costs at most one rejected probe per term", () => {
    // Reference: §5.3 (the optimization at the end of the section, with etcd's reject hints)
    const leaderTerms = [1, 3, 3, 3, 3, 3, 3, 3, 7];
    const followerTerms = [1, 3, 3, 4, 4, 5, 5, 5, 6, 6, 6, 6, 6, 6];
    const net = new TestNetwork([1, 2, 3], (id) => ({
      terms: id === 1 ? leaderTerms : id === 2 ? followerTerms : [],
      hardState: { term: 7, vote: 0, commit: id === 3 ? 0 : 1 },
    }));
    net.cutLink(1, 3);
    net.cutLink(3, 1);
    net.node(1).raw.campaign();
    net.node(1).raw.step(msg("MsgVoteResp", 3, 1, 8));
    net.stabilize();
    const rejections = net.delivered.filter(
      (m) => m.type === "MsgAppResp" && m.reject && m.from === 2,
    );
    // The first probe at the leader's last index reveals term 6; the hint lands on
    // index 3 (term 3 <= 7 on the follower), where the next probe succeeds.
    expect(rejections.length).toBeLessThanOrEqual(2);
    expect(termsOf(net.node(2).log())).toEqual([...leaderTerms, 8]);
  });
});

describe("§5.4 safety", () => {
  const voters = [
    { name: "higher last term, shorter log", lastIndex: 1, lastTerm: 3, accept: true },
    { name: "same last term, longer log", lastIndex: 3, lastTerm: 2, accept: true },
    { name: "same last term, same length", lastIndex: 2, lastTerm: 2, accept: true },
    { name: "same last term, shorter log", lastIndex: 1, lastTerm: 2, accept: false },
    { name: "lower last term, longer log", lastIndex: 9, lastTerm: 1, accept: false },
  ];
  for (const { name, lastIndex, lastTerm, accept } of voters) {
    it(`a voter with log [1, 2] ${accept ? "grants" : "rejects"} a candidate with ${name}`, () => {
      // Reference: §5.4.1 (votes only for logs at least as up-to-date)
      const node = new TestNode(1, { terms: [1, 2], hardState: { term: 2, vote: 0, commit: 0 } });
      node.raw.step(msg("MsgVote", 2, 1, 5, { index: lastIndex, logTerm: lastTerm }));
      const [resp] = ofType(node.flush(), "MsgVoteResp");
      expect(resp?.reject).toBe(!accept);
    });
  }

  it("Figure 8: a leader does not commit an entry of a previous term by counting replicas", () => {
    // Reference: §5.4.2, Figure 8
    // init: node 1 holds (1,t1) (2,t2) and wins term 3, appending its no-op (3,t3).
    const leader = new TestNode(1, { terms: [1, 2], hardState: { term: 2, vote: 0, commit: 1 } });
    leader.raw.campaign();
    leader.raw.step(msg("MsgVoteResp", 2, 1, 3));
    leader.flush();
    expect(leader.status().role).toBe("leader");
    // act: a majority (1 and 2) now stores index 2, an entry of term 2.
    leader.raw.step(msg("MsgAppResp", 2, 1, 3, { index: 2 }));
    leader.flush();
    // check: not committed by counting...
    expect(leader.status().commit).toBe(1);
    // ...only once an entry of the leader's own term is replicated.
    leader.raw.step(msg("MsgAppResp", 2, 1, 3, { index: 3 }));
    leader.flush();
    expect(leader.status().commit).toBe(3);
  });
});

describe("§8 client interaction: ReadIndex (thesis §6.4)", () => {
  const context = new TextEncoder().encode("read-1");

  it("a new leader defers reads until it has committed an entry of its term", () => {
    // Reference: §8 ("a leader must have the latest information on which entries are committed")
    const net = new TestNetwork([1, 2, 3]);
    net.node(1).raw.campaign();
    for (const m of net.node(1).flush()) {
      net.deliver(m);
    }
    for (const m of [...net.node(2).flush(), ...net.node(3).flush()]) {
      net.deliver(m); // Votes: node 1 is leader, its no-op not yet acknowledged.
    }
    const leader = net.node(1);
    expect(leader.status().role).toBe("leader");
    expect(leader.raw.readIndex(context)).toEqual({ ok: true });
    const sent = leader.flush();
    expect(ofType(sent, "MsgHeartbeat")).toEqual([]); // No confirmation round yet.
    expect(leader.readStates).toEqual([]);
    for (const m of sent) {
      net.deliver(m);
    }
    net.stabilize(); // The no-op commits, the read is released and confirmed.
    expect(leader.readStates).toEqual([{ index: 1, requestContext: context }]);
  });

  it("a read needs leadership confirmed by a heartbeat quorum", () => {
    // Reference: §8 (exchange heartbeats with a majority before answering)
    const net = new TestNetwork([1, 2, 3, 4, 5]);
    net.elect(1);
    const leader = net.node(1);
    leader.raw.readIndex(context);
    const beats = ofType(leader.flush(), "MsgHeartbeat");
    expect(beats).toHaveLength(4);
    expect(beats.every((m) => m.context.byteLength > 0)).toBe(true);
    const answer = (from: number) => {
      const beat = beats.find((m) => m.to === from);
      leader.raw.step(
        msg("MsgHeartbeatResp", from, 1, 1, { context: beat?.context ?? new Uint8Array() }),
      );
      leader.flush();
    };
    answer(2);
    expect(leader.readStates).toEqual([]); // Leader + 1 of 5 is not a majority.
    answer(3);
    expect(leader.readStates).toEqual([{ index: 1, requestContext: context }]);
  });

  it("reads arriving together share one heartbeat round", () => {
    // Reference: §8 (batching, thesis §6.4)
    const net = leaderWithCommittedNoop();
    const leader = net.node(1);
    const contexts = ["a", "b", "c"].map((c) => new TextEncoder().encode(c));
    for (const c of contexts) {
      leader.raw.readIndex(c);
    }
    expect(ofType(leader.flush(), "MsgHeartbeat")).toHaveLength(2);
    net.stabilize();
  });

  it("a follower forwards a read to the leader and receives the read index", () => {
    // Reference: §8
    const net = leaderWithCommittedNoop();
    expect(net.node(2).raw.readIndex(context)).toEqual({ ok: true });
    net.stabilize();
    expect(net.node(2).readStates).toEqual([{ index: 1, requestContext: context }]);
  });

  it("a single voter answers a read at once", () => {
    // Reference: §8
    const node = new TestNode(1, { voters: [1] });
    node.raw.campaign();
    node.flush();
    node.raw.readIndex(context);
    node.flush();
    expect(node.readStates).toEqual([{ index: 1, requestContext: context }]);
  });

  it("without a leader a read is refused", () => {
    // Reference: §8
    expect(new TestNode(1).raw.readIndex(context)).toEqual({ ok: false, reason: "no-leader" });
  });
});

describe("extensions: pre-vote, check-quorum, leader lease (thesis §9.6, §6.2)", () => {
  const withExtensions = () => ({ preVote: true, checkQuorum: true });

  it("pre-vote: a partitioned node polls without bumping its term and does not disrupt on return", () => {
    // Reference: thesis §9.6
    const net = new TestNetwork([1, 2, 3], withExtensions);
    net.elect(1);
    net.isolate(3);
    for (let t = 0; t < 5 * ELECTION; t++) {
      net.tickAll();
    }
    expect(net.node(3).status().term).toBe(1);
    expect(net.node(3).status().role).toBe("pre-candidate");
    net.heal();
    net.tickAll(ELECTION);
    expect(net.node(1).status().role).toBe("leader");
    expect(net.node(1).status().term).toBe(1);
    expect(net.node(3).status().leader).toBe(1);
  });

  it("pre-vote: a majority of pre-votes leads to a real election in the next term", () => {
    // Reference: thesis §9.6
    const net = new TestNetwork([1, 2, 3], withExtensions);
    net.elect(1);
    expect(net.node(1).eventNames()).toContain("became-pre-candidate");
    expect(net.node(1).status().term).toBe(1);
  });

  it("check-quorum: a leader that hears from no quorum for an election timeout steps down", () => {
    // Reference: thesis §6.2
    const net = new TestNetwork([1, 2, 3], withExtensions);
    net.elect(1);
    net.isolate(1);
    net.tickAll(2 * ELECTION);
    const leader = net.node(1);
    expect(leader.status().role).toBe("follower");
    expect(leader.events.find((e) => e.name === "step-down")?.fields.reason).toBe(
      "check-quorum: heard from only 1 of 3",
    );
  });

  it("leader lease: a follower that heard from its leader recently ignores votes", () => {
    // Reference: thesis §4.2.3 (disruptive servers)
    const net = new TestNetwork([1, 2, 3], withExtensions);
    net.elect(1);
    const follower = net.node(2);
    follower.raw.step(msg("MsgVote", 3, 2, 5, { index: 10, logTerm: 5 }));
    follower.raw.step(msg("MsgPreVote", 3, 2, 5, { index: 10, logTerm: 5 }));
    expect(follower.flush()).toEqual([]);
    expect(follower.status().term).toBe(1);
    expect(follower.eventNames()).toContain("vote-ignored-in-lease");
  });

  it("a stale leader learns the newer term from the answer to its MsgApp", () => {
    // Reference: §5.1 (with pre-vote/check-quorum a stale leader gets no votes to learn from)
    const follower = new TestNode(2, {
      ...withExtensions(),
      hardState: { term: 5, vote: 0, commit: 0 },
    });
    follower.raw.step(msg("MsgHeartbeat", 1, 2, 3));
    const [resp] = follower.flush();
    expect(resp?.type).toBe("MsgAppResp");
    expect(resp?.term).toBe(5);
    const staleLeader = new TestNetwork([1, 2, 3]).elect(1);
    staleLeader.raw.step(msg("MsgAppResp", 2, 1, 5));
    expect(staleLeader.status().role).toBe("follower");
    expect(staleLeader.status().term).toBe(5);
  });

  it("leadership transfer: the target is caught up, told to campaign and wins the next term", () => {
    // Reference: thesis §3.10
    const net = new TestNetwork([1, 2, 3], withExtensions);
    net.elect(1);
    net.node(1).raw.transferLeader(2);
    expect(net.node(1).raw.propose(new TextEncoder().encode("x"))).toEqual({
      ok: false,
      reason: "transferring-leadership",
    });
    net.stabilize();
    expect(net.node(2).status().role).toBe("leader");
    expect(net.node(2).status().term).toBe(2);
    expect(net.node(1).status().role).toBe("follower");
  });

  it("leadership transfer is abandoned after an election timeout", () => {
    // Reference: thesis §3.10
    const net = new TestNetwork([1, 2, 3], withExtensions);
    net.elect(1);
    net.cutLink(1, 2);
    net.node(1).raw.transferLeader(2);
    expect(net.node(1).status().leadTransferee).toBe(2);
    net.cutLink(2, 1);
    net.tick(1, ELECTION);
    net.node(1).flush();
    expect(net.node(1).status().leadTransferee).toBe(0);
    expect(net.node(1).raw.propose(new TextEncoder().encode("x"))).toEqual({ ok: true });
  });
});
