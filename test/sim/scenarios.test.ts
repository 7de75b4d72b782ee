// Targeted simulator scenarios: partitioning the leader away and crashing
// the leader around a proposal. The safety checkers run after every step here too.

import { describe, expect, it } from "vitest";
import { SimCluster } from "./cluster.js";
import { RELIABLE_PROFILE } from "./network.js";

const ELECTION_TICKS = 10;

function newCluster(size: number, seed: number): SimCluster {
  return new SimCluster({
    size,
    seed,
    profile: RELIABLE_PROFILE,
    electionTicks: ELECTION_TICKS,
    heartbeatTicks: 2,
  });
}

/** Ticks until `done` holds; fails after `maxTicks`. */
function tickUntil(cluster: SimCluster, done: () => boolean, maxTicks: number, what: string): void {
  for (let ticks = 0; !done(); ticks++) {
    if (ticks >= maxTicks) {
      throw new Error(`${what} did not happen within ${maxTicks} ticks`);
    }
    cluster.tick();
  }
}

function leaderId(cluster: SimCluster): number {
  tickUntil(cluster, () => cluster.leader() !== undefined, 20 * ELECTION_TICKS, "election");
  const leader = cluster.leader();
  if (leader === undefined) {
    throw new Error("no leader");
  }
  return leader.id;
}

function payloads(cluster: SimCluster, id: number): string[] {
  return cluster
    .node(id)
    .applied.map((e) => new TextDecoder().decode(e.data))
    .filter((p) => p !== "");
}

function allApplied(cluster: SimCluster, ids: readonly number[], payload: string): boolean {
  return ids.every((id) => payloads(cluster, id).includes(payload));
}

describe("simulated scenarios", () => {
  it("5 nodes: a partitioned leader's minority never commits; the majority elects and commits", () => {
    const cluster = newCluster(5, 11);
    const oldLeader = leaderId(cluster);
    const before = cluster.propose(oldLeader);
    expect(before).toBeDefined();
    tickUntil(cluster, () => allApplied(cluster, cluster.ids, before ?? ""), 50, "initial commit");

    const follower = cluster.ids.find((id) => id !== oldLeader) ?? 0;
    const minority = [oldLeader, follower];
    const majority = cluster.ids.filter((id) => !minority.includes(id));
    cluster.network.split(minority, cluster.ids);
    const oldTerm = cluster.status(oldLeader)?.term ?? 0;
    const minorityCommit = cluster.status(oldLeader)?.commit ?? 0;
    const lost = [
      cluster.propose(oldLeader),
      cluster.propose(oldLeader),
      cluster.propose(follower),
    ];

    // The majority elects a leader of a newer term and commits through it.
    tickUntil(
      cluster,
      () => majority.some((id) => cluster.status(id)?.role === "leader"),
      20 * ELECTION_TICKS,
      "majority election",
    );
    const newLeader = majority.find((id) => cluster.status(id)?.role === "leader") ?? 0;
    expect(cluster.status(newLeader)?.term).toBeGreaterThan(oldTerm);
    const kept = cluster.propose(newLeader);
    tickUntil(cluster, () => allApplied(cluster, majority, kept ?? ""), 50, "majority commit");

    // Check-quorum deposes the old leader; its side never commits anything new.
    tickUntil(
      cluster,
      () => cluster.status(oldLeader)?.role !== "leader",
      3 * ELECTION_TICKS,
      "step-down",
    );
    for (const id of minority) {
      expect(cluster.status(id)?.commit).toBe(minorityCommit);
    }

    cluster.network.heal();
    tickUntil(
      cluster,
      () => allApplied(cluster, cluster.ids, kept ?? ""),
      20 * ELECTION_TICKS,
      "healing",
    );
    for (const id of cluster.ids) {
      for (const payload of lost) {
        expect(payloads(cluster, id)).not.toContain(payload);
      }
      expect(payloads(cluster, id)).toEqual(payloads(cluster, newLeader));
    }
  });

  it("3 nodes: the leader crashes after persisting a proposal whose MsgApps were lost", () => {
    const cluster = newCluster(3, 12);
    const leader = leaderId(cluster);
    cluster.armCrash(leader, "after-persist");
    // The MsgApps leave before the persist (early); losing them leaves the
    // entry on the leader's disk only.
    cluster.network.dropNext(2);
    const payload = cluster.propose(leader);
    expect(cluster.node(leader).up).toBe(false);
    expect(cluster.acked.has(payload ?? "")).toBe(false);

    const others = cluster.ids.filter((id) => id !== leader);
    tickUntil(
      cluster,
      () => others.some((id) => cluster.status(id)?.role === "leader"),
      20 * ELECTION_TICKS,
      "re-election",
    );
    const next = others.find((id) => cluster.status(id)?.role === "leader") ?? 0;
    const after = cluster.propose(next);
    cluster.restart(leader);
    tickUntil(
      cluster,
      () => allApplied(cluster, cluster.ids, after ?? ""),
      20 * ELECTION_TICKS,
      "convergence",
    );
    // The persisted-but-unsent entry was never replicated: the new leader overwrote it.
    for (const id of cluster.ids) {
      expect(payloads(cluster, id)).not.toContain(payload);
      expect(payloads(cluster, id)).toEqual(payloads(cluster, next));
    }
  });

  it("3 nodes: the followers commit a proposal while the leader's write is in flight; the leader crashes before it lands", () => {
    const lines: string[] = [];
    const cluster = new SimCluster({
      size: 3,
      seed: 15,
      profile: RELIABLE_PROFILE,
      electionTicks: ELECTION_TICKS,
      heartbeatTicks: 2,
      trace: (line) => lines.push(line),
    });
    const leader = leaderId(cluster);
    tickUntil(cluster, () => cluster.network.size === 0, 50, "quiet network");
    // Mid-write: both MsgApps reach the followers, then both acks reach the leader.
    cluster.slowDisk(leader, 4);
    cluster.armCrash(leader, "after-early-send");
    const lastBefore = cluster.status(leader)?.lastIndex ?? 0;
    const payload = cluster.propose(leader) ?? "";
    expect(payload).not.toBe("");
    expect(cluster.node(leader).up).toBe(false);
    expect(lines.some((l) => l.includes(`n${leader} steps MsgAppResp`))).toBe(true);
    // The leader lost the entry; the followers have it durably.
    expect(cluster.node(leader).storage.lastIndex()).toBe(lastBefore);
    const others = cluster.ids.filter((id) => id !== leader);
    for (const id of others) {
      expect(cluster.node(id).storage.lastIndex()).toBe(lastBefore + 1);
    }
    tickUntil(
      cluster,
      () => others.some((id) => cluster.status(id)?.role === "leader"),
      20 * ELECTION_TICKS,
      "re-election",
    );
    cluster.restart(leader);
    tickUntil(
      cluster,
      () => allApplied(cluster, cluster.ids, payload),
      20 * ELECTION_TICKS,
      "convergence",
    );
    // Committed by the followers' writes alone, it is at the same index everywhere.
    for (const id of cluster.ids) {
      expect(cluster.node(id).applied[lastBefore]?.data).toEqual(new TextEncoder().encode(payload));
    }
  });

  it("3 nodes: a proposal acknowledged before the leader crashes survives on every node", () => {
    const cluster = newCluster(3, 13);
    const leader = leaderId(cluster);
    const payload = cluster.propose(leader) ?? "";
    tickUntil(cluster, () => cluster.acked.has(payload), 50, "acknowledgement");
    cluster.crash(leader);

    const others = cluster.ids.filter((id) => id !== leader);
    tickUntil(
      cluster,
      () => others.some((id) => cluster.status(id)?.role === "leader"),
      20 * ELECTION_TICKS,
      "re-election",
    );
    cluster.restart(leader);
    tickUntil(
      cluster,
      () => allApplied(cluster, cluster.ids, payload),
      20 * ELECTION_TICKS,
      "convergence",
    );
    const index = cluster.acked.get(payload);
    for (const id of cluster.ids) {
      expect(cluster.node(id).applied[(index ?? 0) - 1]?.data).toEqual(
        new TextEncoder().encode(payload),
      );
    }
  });

  it("3 nodes: a read through a follower reflects every acknowledged write", () => {
    const cluster = newCluster(3, 14);
    const leader = leaderId(cluster);
    const payload = cluster.propose(leader) ?? "";
    tickUntil(cluster, () => cluster.acked.has(payload), 50, "acknowledgement");
    const follower = cluster.ids.find((id) => id !== leader) ?? 0;
    const answeredBefore = cluster.readsAnswered;
    // The cluster fails the run if the answer's index is below the acknowledged write.
    cluster.read(follower);
    tickUntil(cluster, () => cluster.readsAnswered > answeredBefore, 20, "read answer");
  });
});
