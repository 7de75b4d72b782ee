// A follower whose data dir was wiped rejects appends with a hint below what
// it once acknowledged. The leader must probe again from the hint; before
// the fix it kept probing at match + 1 and the follower never caught up.
import { describe, expect, it } from "vitest";
import { TestNetwork, TestNode } from "./harness.js";

describe("a follower that lost its log", () => {
  it("is probed again from its hint and catches up", () => {
    const net = new TestNetwork([1, 2, 3]);
    const leader = net.elect(1);
    for (let i = 0; i < 5; i++) leader.raw.propose(new TextEncoder().encode(`p${i}`));
    net.stabilize();
    expect(leader.status().progress.get(3)?.match).toBe(net.node(1).status().lastIndex);
    // Node 3 comes back with nothing: same id, empty log and hard state.
    net.nodes.set(3, new TestNode(3, { voters: [1, 2, 3] }));
    leader.raw.propose(new TextEncoder().encode("after-wipe"));
    net.stabilize();
    net.tickAll(3); // heartbeats make the leader probe the follower again
    expect(
      net
        .node(3)
        .log()
        .map((e) => e.index),
    ).toEqual(
      net
        .node(1)
        .log()
        .map((e) => e.index),
    );
    expect(leader.eventNames()).toContain("follower-log-shorter-than-match");
  });
});

describe("a heartbeat committing past the follower's log", () => {
  it("is answered with a rejection hinting where the log ends, not a crash", () => {
    const net = new TestNetwork([1, 2, 3]);
    const leader = net.elect(1);
    for (let i = 0; i < 3; i++) leader.raw.propose(new TextEncoder().encode(`p${i}`));
    net.stabilize();
    net.nodes.set(2, new TestNode(2, { voters: [1, 2, 3] }));
    net.tickAll(3);
    expect(net.node(2).eventNames()).toContain("heartbeat-commit-beyond-log");
    expect(net.node(2).log().length).toBe(net.node(1).log().length);
  });
});
