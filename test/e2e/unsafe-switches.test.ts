// The planted bugs of --unsafe on a real 3-member cluster, each shown to do
// what a jepsen-lite checker must catch: a follower cut off from the leader
// still answers a "linearizable" read (stale-reads); a partitioned old leader
// keeps leading (no-quorum-check) and answers a read the new leader's write
// made stale (no-read-index); two Lock callers hold one lock
// (early-lock-grant); a watch loses its 1000th event (watch-skip). A control
// cluster without --unsafe goes through the same partitions and refuses both reads.
import type { Client } from "@grpc/grpc-js";
import { Etcd3 } from "etcd3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memberId } from "../../src/server/ids.js";
import { LEASE_SERVICE } from "../../src/server/lease/lease-service.js";
import { LOCK_SERVICE } from "../../src/server/lock/lock-service.js";
import { LOCKS_SERVICE } from "../../src/server/platform/locks.js";
import { KV_SERVICE } from "../../src/server/services.js";
import { UNSAFE_SWITCHES, WATCH_SKIP_EVERY_EVENTS } from "../../src/server/unsafe.js";
import { callUnary } from "../../src/transport/grpc-codec.js";
import { logRecordsSince, sleep, TestCluster } from "./harness.js";
import { Channels, signUp } from "./platform-helpers.js";

const ELECTION_TIMEOUT_MS = 1000;
const CALL_MS = 3000;
/** How long a read that must wait for the leader is given before it counts as refused. */
const REFUSED_AFTER_MS = 1500;
const bytes = (text: string): Uint8Array => Buffer.from(text);

/** KV calls to a chosen member and whole-member partitions through the fault hooks. */
class Ops {
  readonly channels: Channels;

  constructor(readonly cluster: TestCluster) {
    this.channels = new Channels(cluster);
  }

  client(name: string): Client {
    return this.channels.via(this.cluster.members.findIndex((m) => m.name === name));
  }

  put(name: string, key: string, value: string): Promise<unknown> {
    return callUnary(
      this.client(name),
      KV_SERVICE.Put,
      { key: bytes(key), value: bytes(value) },
      { deadline: Date.now() + CALL_MS },
    );
  }

  /** A linearizable Range (serializable false), without `hasleader`: the server decides; "refused" if it fails. */
  async get(name: string, key: string, timeoutMs = CALL_MS): Promise<string> {
    try {
      const response = await callUnary(
        this.client(name),
        KV_SERVICE.Range,
        { key: bytes(key) },
        { deadline: Date.now() + timeoutMs },
      );
      return Buffer.from(response.kvs[0]?.value ?? []).toString();
    } catch {
      return "refused";
    }
  }

  /** Cuts `isolated` off from every other member, both ways, on both sides. */
  async isolate(isolated: string): Promise<void> {
    const others = this.cluster.members.map((m) => m.name).filter((n) => n !== isolated);
    const cut = (peers: readonly string[]) => ({
      links: peers.map((n) => ({
        peer: memberId(n, "cairn-cluster"),
        direction: "both",
        drop: true,
      })),
    });
    await this.cluster.faults(isolated, cut(others));
    for (const name of others) await this.cluster.faults(name, cut([isolated]));
  }

  async heal(): Promise<void> {
    for (const member of this.cluster.members)
      await this.cluster.faults(member.name, { links: [] });
    const leader = await this.cluster.waitForLeader(10_000);
    const commit = (await this.cluster.status(leader))?.commitIndex ?? 0;
    await this.cluster.waitForApplied(
      this.cluster.members.map((m) => m.name),
      commit,
    );
  }

  async commitIndexOf(name: string): Promise<number> {
    return (await this.cluster.status(name))?.commitIndex ?? 0;
  }
}

/**
 * A follower is cut off; the leader overwrites a key; both are asked for a
 * linearizable read of it. Safe: the follower cannot confirm with the leader.
 */
async function readOnCutOffFollower(ops: Ops, key: string) {
  const leader = await ops.cluster.waitForLeader();
  const follower = ops.cluster.members.find((m) => m.name !== leader)?.name as string;
  await ops.put(leader, key, "old");
  await ops.cluster.waitForApplied([follower], await ops.commitIndexOf(leader));
  await ops.isolate(follower);
  await ops.put(leader, key, "new");
  const outcome = {
    leaderRead: await ops.get(leader, key),
    followerRead: await ops.get(follower, key, REFUSED_AFTER_MS),
  };
  await ops.heal();
  return outcome;
}

/**
 * The leader is cut off; the others elect a new one, which overwrites a key;
 * the old leader is asked for a linearizable read and, past three election
 * timeouts, for its role. Safe: it cannot confirm its leadership, and check-quorum
 * steps it down.
 */
async function readOnPartitionedOldLeader(ops: Ops, key: string) {
  const oldLeader = await ops.cluster.waitForLeader();
  const others = ops.cluster.members.map((m) => m.name).filter((n) => n !== oldLeader);
  await ops.put(oldLeader, key, "old");
  await ops.cluster.waitForApplied(others, await ops.commitIndexOf(oldLeader));
  const cutAtMs = Date.now();
  await ops.isolate(oldLeader);
  const newLeader = await ops.cluster.waitForLeader(10_000, others);
  await ops.put(newLeader, key, "new");
  const newLeaderRead = await ops.get(newLeader, key);
  const oldLeaderRead = await ops.get(oldLeader, key, REFUSED_AFTER_MS);
  await sleep(Math.max(0, cutAtMs + 3 * ELECTION_TIMEOUT_MS - Date.now()));
  const oldLeaderRole = (await ops.cluster.status(oldLeader))?.role;
  await ops.heal();
  return { newLeaderRead, oldLeaderRead, oldLeaderRole };
}

describe("--unsafe switches on a 3-member cluster", { timeout: 60_000 }, () => {
  let cluster: TestCluster;
  let ops: Ops;
  let channels: Channels;
  const startMarks = new Map<string, number>();
  beforeAll(async () => {
    cluster = await TestCluster.start({
      size: 3,
      extraArgs: ["--unsafe", UNSAFE_SWITCHES.join(",")],
    });
    for (const member of cluster.members) startMarks.set(member.name, 0);
    await cluster.waitForLeader(10_000);
    ops = new Ops(cluster);
    channels = ops.channels;
  });
  afterAll(async () => {
    ops?.channels.close();
    await cluster?.stop();
  });
  const deadline = () => ({ deadline: Date.now() + CALL_MS });

  it("announces every switch in its log and in /metrics", async () => {
    for (const member of cluster.members) {
      const text = await (await fetch(`http://${member.metrics}/metrics`)).text();
      for (const name of UNSAFE_SWITCHES) {
        expect(text).toContain(`cairn_unsafe_switch{switch="${name}"} 1`);
      }
    }
    const warned = logRecordsSince(
      cluster,
      startMarks,
      "UNSAFE: stale-reads planted for testing; this member is not safe",
    );
    expect(warned.map((r) => r.node).sort()).toEqual(["n1", "n2", "n3"]);
  });

  it("stale-reads: a follower cut off from the leader answers a linearizable read, stale", async () => {
    expect(await readOnCutOffFollower(ops, "sr")).toEqual({
      leaderRead: "new",
      followerRead: "old",
    });
  });

  it("no-read-index + no-quorum-check: a partitioned old leader keeps leading and reads stale", async () => {
    expect(await readOnPartitionedOldLeader(ops, "nr")).toEqual({
      newLeaderRead: "new",
      oldLeaderRead: "old",
      oldLeaderRole: "leader",
    });
  });

  it("early-lock-grant: two Lock callers (v3lock and cairn.v1.Locks) hold one lock at once", async () => {
    const leases = await Promise.all(
      [0, 1].map(
        async (i) =>
          (await callUnary(channels.via(i), LEASE_SERVICE.LeaseGrant, { ID: 0, TTL: 30 })).ID,
      ),
    );
    const held = await Promise.all(
      leases.map((lease, i) =>
        callUnary(channels.via(i), LOCK_SERVICE.Lock, { name: bytes("job"), lease }, deadline()),
      ),
    );
    expect(held.map((r) => Buffer.from(r.key).toString())).toEqual(
      leases.map((lease) => `job/${lease.toString(16)}`),
    );

    const admin = await signUp(channels, "root");
    const acquire = () =>
      admin.call(LOCKS_SERVICE.Acquire, { name: "jobs", leaseId: 0, ttlSeconds: 30 }, 0, CALL_MS);
    const first = await acquire();
    const second = await acquire();
    expect([first.acquired, second.acquired]).toEqual([true, true]);
    expect(second.holder?.leaseId).toBe(first.leaseId);
  });

  it(`watch-skip: a watch over ${WATCH_SKIP_EVERY_EVENTS + 50} writes misses exactly its ${WATCH_SKIP_EVERY_EVENTS}th event`, async () => {
    const etcd = new Etcd3({ hosts: `http://${cluster.members[0]?.client}` });
    try {
      const seen: string[] = [];
      const watcher = await etcd.watch().prefix("ws/").create();
      watcher.on("put", (kv) => seen.push(kv.key.toString()));
      const writes = WATCH_SKIP_EVERY_EVENTS + 50;
      const perTxn = 50;
      for (let start = 1; start <= writes; start += perTxn) {
        const ops = Array.from({ length: perTxn }, (_, i) => ({
          requestPut: { key: bytes(`ws/${start + i}`), value: bytes("v") },
        }));
        await callUnary(channels.via(0), KV_SERVICE.Txn, { success: ops }, deadline());
      }
      const until = Date.now() + 8000;
      while (!seen.includes(`ws/${writes}`) && Date.now() < until) await sleep(50);
      await watcher.cancel();
      expect(seen).toHaveLength(writes - 1);
      expect(seen).not.toContain(`ws/${WATCH_SKIP_EVERY_EVENTS}`);
    } finally {
      etcd.close();
    }
  });
});

describe("the same faults without --unsafe (control)", { timeout: 60_000 }, () => {
  let cluster: TestCluster;
  let ops: Ops;
  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3 });
    await cluster.waitForLeader(10_000);
    ops = new Ops(cluster);
  });
  afterAll(async () => {
    ops?.channels.close();
    await cluster?.stop();
  });

  it("a cut-off follower refuses the linearizable read", async () => {
    expect(await readOnCutOffFollower(ops, "sr")).toEqual({
      leaderRead: "new",
      followerRead: "refused",
    });
  });

  it("a partitioned old leader refuses the read and steps down", async () => {
    const outcome = await readOnPartitionedOldLeader(ops, "nr");
    expect(outcome.newLeaderRead).toBe("new");
    expect(outcome.oldLeaderRead).toBe("refused");
    expect(outcome.oldLeaderRole).not.toBe("leader");
  });
});

describe("--unsafe without --unsafe-test-mode", () => {
  it("is refused at start with an error naming both flags", async () => {
    const { spawnSync } = await import("node:child_process");
    const { resolve } = await import("node:path");
    const cli = resolve(import.meta.dirname, "..", "..", "dist", "src", "cli", "main.js");
    const run = spawnSync(
      process.execPath,
      [cli, "serve", "--name", "n1", "--unsafe", "stale-reads"],
      {
        encoding: "utf8",
        timeout: 10_000,
      },
    );
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--unsafe \(stale-reads\).*refused without --unsafe-test-mode/);
  });
});
