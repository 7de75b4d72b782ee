// The periodic corruption check against an in-memory cluster: three real
// state machines that apply every proposal (so checkpoints land at the same
// point everywhere), peers answering from their own state. Damaging one
// member's memory gets exactly that member the CORRUPT alarm.
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { type CheckedNode, CorruptionChecker } from "../../../src/server/corruption/checker.js";
import type { DigestAnswer, KvHashAnswer } from "../../../src/server/corruption/compare.js";
import type { PeerQueries } from "../../../src/server/corruption/peer-queries.js";
import type { Command } from "../../../src/state/command.js";
import { keyString } from "../../../src/state/key-range.js";
import { type ApplyResult, StateMachine } from "../../../src/state/state-machine.js";

const LEADER = 1;
const IDS = [1, 2, 3];

class FakeCluster {
  readonly members = new Map(IDS.map((id) => [id, new StateMachine()]));
  readonly down = new Set<number>();
  private nextId = 1;

  sm(id: number): StateMachine {
    return this.members.get(id) as StateMachine;
  }

  /** Commits a command on every member; answers with the leader's result. */
  replicate(command: Record<string, unknown>): ApplyResult {
    const full = { ...command, v: 1, id: this.nextId++, at: 1_700_000_000_000 } as Command;
    let leaderResult: ApplyResult | null = null;
    for (const [id, sm] of this.members) {
      const { result } = sm.apply(full);
      if (id === LEADER) leaderResult = result;
    }
    return leaderResult as ApplyResult;
  }

  put(key: string, value: string): void {
    this.replicate({ kind: "put", key: Buffer.from(key), value: Buffer.from(value), lease: 0 });
  }

  node(isLeader = true): CheckedNode {
    return {
      id: LEADER,
      isLeader,
      stateMachine: this.sm(LEADER),
      propose: (command) => Promise.resolve(this.replicate(command)),
    } as CheckedNode;
  }

  peers(): PeerQueries {
    return {
      hashKv: async (peer, revision): Promise<KvHashAnswer | null> => {
        if (this.down.has(peer)) return null;
        const hash = this.sm(peer).hashKv(revision);
        return hash.kind === "hash"
          ? { memberId: peer, hash: hash.hash, compactRevision: hash.compactRevision }
          : null;
      },
      stateDigest: async (peer, checkpoint): Promise<DigestAnswer | null> => {
        if (this.down.has(peer)) return null;
        const at = this.sm(peer).digestAt(checkpoint);
        return at === undefined ? null : { memberId: peer, revision: at.revision, state: at.state };
      },
      close: () => undefined,
    };
  }

  checker(isLeader = true): CorruptionChecker {
    return new CorruptionChecker({
      node: this.node(isLeader),
      peers: this.peers(),
      members: new Map(IDS.map((id) => [id, { name: `n${id}` }])),
      intervalMs: 0,
      logger: pino({ level: "silent" }),
    });
  }

  corruptAlarms(): number[] {
    return this.sm(2)
      .alarms.list()
      .filter((a) => a.alarm === "corrupt")
      .map((a) => a.memberId);
  }
}

/** Flips a byte of a key's current value in one member's memory only. */
function flipValue(sm: StateMachine, key: string): void {
  const kv = sm.kv.get(keyString(Buffer.from(key)));
  if (kv === undefined) throw new Error(`no key ${key}`);
  const copy = Uint8Array.from(kv.value);
  copy[0] = (copy[0] as number) ^ 0xff;
  (kv as { value: Uint8Array }).value = copy;
}

function registerUser(cluster: FakeCluster, username: string): void {
  cluster.replicate({
    kind: "user-register",
    actor: "",
    username,
    email: `${username}@example.com`,
    phone: "+14155550100",
    roles: [],
    password: { salt: new Uint8Array(16).fill(1), hash: new Uint8Array(64).fill(2) },
  });
}

describe("periodic corruption check", () => {
  it("healthy members: both checks agree and no alarm is raised", async () => {
    const cluster = new FakeCluster();
    cluster.put("a", "1");
    registerUser(cluster, "amy");
    const report = await cluster.checker().checkOnce();
    expect(report.kv).toMatchObject({ revision: 3, answered: 2, verdict: { corrupt: [] } });
    expect(report.digest).toMatchObject({ answered: 2, verdict: { corrupt: [] } });
    expect(report.alarmed).toEqual([]);
    expect(cluster.corruptAlarms()).toEqual([]);
  });

  it("a follower whose KV value differs in memory gets the CORRUPT alarm, on every member", async () => {
    const cluster = new FakeCluster();
    cluster.put("a", "1");
    cluster.put("b", "2");
    flipValue(cluster.sm(3), "a");
    const report = await cluster.checker().checkOnce();
    expect(report.kv).toMatchObject({ verdict: { corrupt: [3], inconclusive: false } });
    expect(report.digest).toMatchObject({ verdict: { corrupt: [] } });
    expect(report.alarmed).toEqual([3]);
    for (const id of IDS) {
      expect(cluster.sm(id).alarms.list()).toEqual([{ memberId: 3, alarm: "corrupt" }]);
    }
  });

  it("the leader's own platform table damaged: the majority names the leader", async () => {
    const cluster = new FakeCluster();
    registerUser(cluster, "amy");
    const amy = cluster.sm(LEADER).platform.users.get("amy");
    (amy as { passwordHash: Uint8Array }).passwordHash = new Uint8Array(64).fill(9);
    const report = await cluster.checker().checkOnce();
    expect(report.kv).toMatchObject({ verdict: { corrupt: [] } });
    expect(report.digest).toMatchObject({ verdict: { corrupt: [LEADER] } });
    expect(report.alarmed).toEqual([LEADER]);
    expect(cluster.corruptAlarms()).toEqual([LEADER]);
  });

  it("does not raise an alarm twice for the same member", async () => {
    const cluster = new FakeCluster();
    cluster.put("a", "1");
    flipValue(cluster.sm(2), "a");
    const checker = cluster.checker();
    expect((await checker.checkOnce()).alarmed).toEqual([2]);
    expect((await checker.checkOnce()).alarmed).toEqual([]);
    expect(cluster.corruptAlarms()).toEqual([2]);
  });

  it("a peer that does not answer is left out; a mismatch then trusts the leader", async () => {
    const cluster = new FakeCluster();
    cluster.put("a", "1");
    cluster.down.add(2);
    flipValue(cluster.sm(3), "a");
    const report = await cluster.checker().checkOnce();
    expect(report.kv).toMatchObject({ answered: 1, verdict: { corrupt: [3], inconclusive: true } });
    expect(report.alarmed).toEqual([3]);
  });

  it("a follower does not check", async () => {
    const cluster = new FakeCluster();
    cluster.put("a", "1");
    flipValue(cluster.sm(3), "a");
    const report = await cluster.checker(false).checkOnce();
    expect(report.alarmed).toEqual([]);
    expect(report.kv).toEqual({ skipped: "not the leader" });
  });

  it("skips the KV check while the head revision is compacted, still checks the tables", async () => {
    const cluster = new FakeCluster();
    cluster.put("a", "1");
    cluster.replicate({ kind: "compact", revision: 2 });
    const report = await cluster.checker().checkOnce();
    expect(report.kv).toEqual({ skipped: "revision 2 is compacted; waiting for a write" });
    expect(report.digest).toMatchObject({ verdict: { corrupt: [] } });
  });
});
