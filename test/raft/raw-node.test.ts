// The RawNode contract the shell relies on: what a Ready contains and when,
// what advance() does, how odd network input is ignored, and status/events.

import { describe, expect, it } from "vitest";
import { LOCAL_MESSAGE_TYPES, type Message } from "../../src/raft/index.js";
import { AssertionError } from "../../src/util/assert.js";
import { msg, ofType, TestNetwork, TestNode } from "./harness.js";
import { entriesWithTerms, entry, termsOf, text } from "./helpers.js";

const encode = (s: string) => new TextEncoder().encode(s);

describe("RawNode Ready/advance", () => {
  it("delivers committed entries only after they are durable", () => {
    const node = new TestNode(1, { hardState: { term: 1, vote: 0, commit: 0 } });
    // Entries and a commit index covering them arrive in the same message.
    node.raw.step(
      msg("MsgApp", 2, 1, 1, {
        index: 0,
        logTerm: 0,
        entries: entriesWithTerms([1, 1]),
        commit: 2,
      }),
    );
    const first = node.raw.ready();
    expect(first.entries.map((e) => e.index)).toEqual([1, 2]);
    expect(first.hardState?.commit).toBe(2);
    expect(first.committedEntries).toEqual([]); // Not durable yet.
    expect(first.mustSync).toBe(true);
    node.storage.append(first.entries);
    node.raw.advance(first);
    const second = node.raw.ready();
    expect(second.entries).toEqual([]);
    expect(second.committedEntries.map((e) => e.index)).toEqual([1, 2]);
    expect(second.mustSync).toBe(false);
    node.raw.advance(second);
    expect(node.raw.hasReady()).toBe(false);
    expect(node.status().applied).toBe(2);
  });

  it("puts a vote grant in the same Ready as the hard state recording it", () => {
    const node = new TestNode(1);
    node.raw.step(msg("MsgVote", 2, 1, 4));
    const rd = node.raw.ready();
    expect(rd.hardState).toEqual({ term: 4, vote: 2, commit: 0 });
    expect(rd.mustSync).toBe(true);
    expect(rd.messages.map((m) => [m.type, m.to, m.reject])).toEqual([["MsgVoteResp", 2, false]]);
  });

  it("reports only changes: no hard or soft state when nothing changed", () => {
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    net.stabilize();
    const leader = net.node(1);
    leader.raw.tick();
    const rd = leader.raw.ready();
    expect(rd.softState).toBeNull();
    expect(rd.hardState).toBeNull();
    expect(rd.mustSync).toBe(false);
    expect(ofType(rd.earlyMessages, "MsgHeartbeat")).toHaveLength(2);
    expect(rd.messages).toEqual([]);
  });

  it("refuses a second ready() before advance(), and a foreign Ready in advance()", () => {
    const node = new TestNode(1);
    node.raw.campaign();
    const rd = node.raw.ready();
    expect(node.raw.hasReady()).toBe(false);
    expect(() => node.raw.ready()).toThrow(AssertionError);
    expect(() => node.raw.advance({ ...rd })).toThrow(AssertionError);
    node.storage.setHardState(rd.hardState ?? { term: 0, vote: 0, commit: 0 });
    node.raw.advance(rd);
    expect(() => node.raw.advance(rd)).toThrow(AssertionError);
  });

  it("steps taken while a write is in flight show up in the next Ready; obsolete writes are not marked durable", () => {
    const node = new TestNode(1, { terms: [1], hardState: { term: 1, vote: 0, commit: 1 } });
    node.raw.step(
      msg("MsgApp", 2, 1, 1, { index: 1, logTerm: 1, entries: entriesWithTerms([1, 1], 2) }),
    );
    const inFlight = node.raw.ready();
    expect(inFlight.entries.map((e) => `${e.index}/${e.term}`)).toEqual(["2/1", "3/1"]);
    expect(ofType(inFlight.messages, "MsgAppResp").map((m) => [m.to, m.index])).toEqual([[2, 3]]);
    // While the shell writes 2..3, a new leader overwrites index 3.
    node.raw.step(msg("MsgApp", 3, 1, 2, { index: 2, logTerm: 1, entries: [entry(3, 2, "new")] }));
    node.storage.append(inFlight.entries);
    node.raw.advance(inFlight);
    const next = node.raw.ready();
    expect(next.entries.map((e) => `${e.index}/${e.term}`)).toEqual(["3/2"]);
    expect(next.hardState?.term).toBe(2);
    // The acknowledgement of the overwrite leaves only with the write that makes it true.
    expect(ofType(next.messages, "MsgAppResp").map((m) => [m.to, m.index])).toEqual([[3, 3]]);
    node.storage.append(next.entries);
    node.raw.advance(next);
    expect(termsOf(node.log())).toEqual([1, 1, 2]);
    expect(node.status().lastIndex).toBe(3);
  });

  it("re-delivers committed entries after `applied` on restart", () => {
    const node = new TestNode(1, {
      terms: [1, 1, 1],
      applied: 1,
      hardState: { term: 1, vote: 0, commit: 3 },
    });
    node.flush();
    expect(node.applied.map((e) => e.index)).toEqual([2, 3]);
  });

  it("refuses a configuration whose stored commit is beyond the log", () => {
    expect(
      () => new TestNode(1, { terms: [1], hardState: { term: 1, vote: 0, commit: 2 } }),
    ).toThrow(AssertionError);
  });
});

describe("RawNode network input", () => {
  it("ignores local-only message types arriving from the network", () => {
    const node = new TestNode(1);
    for (const type of LOCAL_MESSAGE_TYPES) {
      node.raw.step(msg(type, 2, 1, 0));
    }
    expect(node.raw.hasReady()).toBe(false);
    expect(node.status().role).toBe("follower");
  });

  it("ignores malformed and misaddressed messages", () => {
    const node = new TestNode(1, { hardState: { term: 1, vote: 0, commit: 0 } });
    const bad: Message[] = [
      msg("MsgApp", 0, 1, 5, { index: 0, logTerm: 0 }), // from nobody
      msg("MsgApp", 2, 3, 5, { index: 0, logTerm: 0 }), // not for us
      msg("MsgApp", 1, 1, 5, { index: 0, logTerm: 0 }), // from ourselves
      msg("MsgApp", 2, 1, 5, { index: 0, logTerm: 0, entries: [entry(2, 5)] }), // gap
      msg("MsgApp", 2, 1, 5, { index: 0, logTerm: 0, entries: [entry(1, 6)] }), // entry from the future
      msg("MsgApp", 2, 1, 5, { index: -1, logTerm: 0 }),
      msg("MsgApp", 2, 1, 5, { index: 0.5, logTerm: 0 }),
      msg("MsgHeartbeat", 2, 1, 0), // termless
      msg("MsgProp", 2, 1, 0), // empty proposal
      { ...msg("MsgHeartbeat", 2, 1, 5), context: "x" as unknown as Uint8Array },
      { ...msg("MsgVote", 2, 1, 5), type: "MsgBogus" as Message["type"] },
      null as unknown as Message,
    ];
    for (const m of bad) {
      node.raw.step(m);
    }
    expect(node.raw.hasReady()).toBe(false);
    expect(node.status().term).toBe(1);
  });

  it("answers stale and duplicate messages without changing state", () => {
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    net.stabilize();
    const follower = net.node(2);
    const before = follower.status();
    follower.raw.step(
      msg("MsgApp", 1, 2, 1, { index: 0, logTerm: 0, entries: entriesWithTerms([1]) }),
    );
    follower.raw.step(msg("MsgVoteResp", 3, 2, 1));
    follower.raw.step(msg("MsgReadIndexResp", 3, 2, 1, { index: 9 }));
    const answers = follower.flush();
    expect(ofType(answers, "MsgAppResp").map((m) => m.index)).toEqual([1]);
    expect(follower.status()).toMatchObject({
      term: before.term,
      commit: before.commit,
      lastIndex: 1,
    });
    expect(follower.readStates).toEqual([]);
  });
});

describe("RawNode requests", () => {
  it("a single-node cluster elects itself and commits proposals", () => {
    const node = new TestNode(1, { voters: [1] });
    node.raw.campaign();
    node.flush();
    expect(node.status().role).toBe("leader");
    expect(node.raw.propose(encode("x"))).toEqual({ ok: true });
    node.flush();
    expect(node.applied.map((e) => text(e.data))).toEqual(["", "x"]);
    expect(node.status().commit).toBe(2);
  });

  it("a single-node cluster campaigns by itself after its election timeout", () => {
    const node = new TestNode(1, { voters: [1], preVote: true, checkQuorum: true });
    for (let t = 0; t < 10; t++) {
      node.raw.tick();
    }
    node.flush();
    expect(node.status().role).toBe("leader");
    node.raw.tick(); // check-quorum must not depose a lone leader
    for (let t = 0; t < 30; t++) {
      node.raw.tick();
    }
    expect(node.status().role).toBe("leader");
  });

  it("a follower forwards proposals to its leader; without a leader they are refused", () => {
    expect(new TestNode(2).raw.propose(encode("x"))).toEqual({ ok: false, reason: "no-leader" });
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    net.stabilize();
    expect(net.node(2).raw.propose(encode("x"))).toEqual({ ok: true });
    const [forwarded] = net.node(2).flush();
    expect(forwarded).toMatchObject({ type: "MsgProp", to: 1, from: 2, term: 0 });
    if (forwarded) {
      net.deliver(forwarded);
    }
    net.stabilize();
    expect(net.node(2).applied.map((e) => text(e.data))).toContain("x");
  });

  it("proposes a batch with one append and one MsgApp per follower; a follower forwards it whole", () => {
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    net.stabilize();
    const leader = net.node(1);
    expect(leader.raw.proposeBatch(["a", "b", "c"].map(encode))).toEqual({ ok: true });
    const sent = ofType(leader.flush(), "MsgApp");
    expect(sent.map((m) => [m.to, m.entries.map((e) => text(e.data))])).toEqual([
      [2, ["a", "b", "c"]],
      [3, ["a", "b", "c"]],
    ]);
    for (const m of sent) net.deliver(m);
    net.stabilize();
    expect(net.node(3).applied.map((e) => text(e.data))).toEqual(["", "a", "b", "c"]);

    expect(net.node(2).raw.proposeBatch(["d", "e"].map(encode))).toEqual({ ok: true });
    const forwarded = net.node(2).flush();
    expect(forwarded.map((m) => [m.type, m.to, m.entries.map((e) => text(e.data))])).toEqual([
      ["MsgProp", 1, ["d", "e"]],
    ]);
    for (const m of forwarded) net.deliver(m);
    net.stabilize();
    expect(
      net
        .node(2)
        .applied.map((e) => text(e.data))
        .slice(-2),
    ).toEqual(["d", "e"]);

    const candidate = new TestNode(1);
    candidate.raw.campaign();
    expect(candidate.raw.proposeBatch([encode("x")])).toEqual({ ok: false, reason: "no-leader" });
  });

  it("a candidate refuses proposals", () => {
    const node = new TestNode(1);
    node.raw.campaign();
    expect(node.raw.propose(encode("x"))).toEqual({ ok: false, reason: "no-leader" });
  });

  it("batches entries per MsgApp by bytes and stops at the inflight window", () => {
    const net = new TestNetwork([1, 2, 3], () => ({
      maxBytesPerMessage: 60,
      maxInflightMessages: 2,
    }));
    net.elect(1);
    net.stabilize();
    const leader = net.node(1);
    for (let k = 0; k < 10; k++) {
      leader.raw.propose(encode(`p${k}`)); // 26 bytes each: two per message
    }
    const sent = leader.flush();
    // The first two proposals each went out at once and filled the window.
    expect(ofType(sent, "MsgApp").filter((m) => m.to === 2)).toHaveLength(2);
    expect(leader.status().progress.get(2)?.inflightMessages).toBe(2);
    for (const m of sent) {
      net.deliver(m);
    }
    net.stabilize();
    expect(net.node(2).status().commit).toBe(11);
    // After the no-op and the first two proposals, the backlog went out two entries (60 bytes) per message.
    const later = net.delivered.filter(
      (m) => m.type === "MsgApp" && m.to === 2 && m.entries.length > 0,
    );
    expect(later.map((m) => m.entries.length)).toEqual([1, 1, 1, 2, 2, 2, 2]);
  });

  it("recovers by heartbeat when a full window of MsgApps is lost", () => {
    const net = new TestNetwork([1, 2, 3], () => ({
      maxBytesPerMessage: 60,
      maxInflightMessages: 2,
    }));
    net.elect(1);
    net.stabilize();
    const leader = net.node(1);
    for (let k = 0; k < 10; k++) {
      leader.raw.propose(encode(`p${k}`));
    }
    leader.flush(); // Lost in the network.
    net.stabilize();
    expect(net.node(2).status().lastIndex).toBe(1);
    net.tickAll(3);
    expect(net.node(2).status().commit).toBe(11);
  });

  it("reportUnreachable drops a replicating follower back to probing", () => {
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    net.stabilize();
    expect(net.node(1).status().progress.get(2)?.state).toBe("replicate");
    net.node(1).raw.reportUnreachable(2);
    expect(net.node(1).status().progress.get(2)?.state).toBe("probe");
  });
});

describe("RawNode status and events", () => {
  it("reports per-peer progress and silence on the leader", () => {
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    net.stabilize();
    net.isolate(3);
    net.tick(1, 4);
    net.stabilize();
    const status = net.node(1).status();
    expect(status).toMatchObject({
      id: 1,
      role: "leader",
      leader: 1,
      term: 1,
      commit: 1,
      lastIndex: 1,
    });
    expect([...status.progress.keys()]).toEqual([2, 3]);
    expect(status.progress.get(2)).toMatchObject({
      match: 1,
      next: 2,
      state: "replicate",
      ticksSinceHeardFrom: 0,
    });
    expect(status.progress.get(3)?.ticksSinceHeardFrom).toBe(4);
    expect(net.node(2).status().progress.size).toBe(0);
  });

  it("emits role changes with terms and reasons", () => {
    const net = new TestNetwork([1, 2, 3], () => ({ preVote: true, checkQuorum: true }));
    net.elect(1);
    const events = net.node(1).events.map((e) => [e.name, e.fields.term, e.fields.reason]);
    expect(events).toEqual([
      ["became-follower", 0, "start"],
      ["election-start", 0, "campaign requested"],
      ["became-pre-candidate", 0, "campaign requested"],
      ["became-candidate", 1, "pre-vote won with 2 of 3"],
      ["became-leader", 1, "won election with 2 of 3 votes"],
    ]);
    const follower = net.node(2).events.find((e) => e.name === "higher-term");
    expect(follower?.fields).toMatchObject({ term: 0, newTerm: 1, from: 1, type: "MsgVote" });
  });
});
