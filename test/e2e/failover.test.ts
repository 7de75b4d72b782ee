// A real 3-member cluster: 1000 writes spread over every member while the
// leader is killed -9 mid-stream. A new leader must take writes again, every
// acknowledged write must be readable, and the killed member must catch up.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CairnClient } from "../../src/client/client.js";
import { sleep, TestCluster } from "./harness.js";

const WRITES_TOTAL = 1000;
const WRITERS = 8;

describe("3-member cluster under a leader kill", { timeout: 120_000 }, () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("elects one leader and serves put/get through every member", async () => {
    await cluster.waitForLeader(10_000);
    for (const member of cluster.members) {
      const client = cluster.client([member.name]);
      await client.put(`hello-${member.name}`, `from ${member.name}`);
      client.close();
    }
    for (const member of cluster.members) {
      const client = cluster.client([member.name]);
      for (const writer of cluster.members) {
        const kv = await client.get(`hello-${writer.name}`);
        expect(kv?.value.toString()).toBe(`from ${writer.name}`);
      }
      client.close();
    }
  });

  it("exposes health, readiness and per-peer metrics over HTTP", async () => {
    const member = cluster.members[0];
    const base = `http://${member?.metrics}`;
    expect(await (await fetch(`${base}/health`)).json()).toEqual({ health: "true" });
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/^cairn_server_has_leader 1$/m);
    expect(text).toMatch(/^cairn_raft_applied_index [1-9]/m);
    expect(text).toMatch(/^cairn_disk_wal_fsync_duration_seconds_count [1-9]/m);
    expect(text).toMatch(/^cairn_network_peer_last_contact_seconds\{peer="n2"\} /m);
    expect(text).toMatch(/^cairn_network_peer_sent_bytes_total\{peer="n3"\} [1-9]/m);
  });

  it("keeps every acknowledged write through a leader kill -9, and the victim catches up", async () => {
    const leader = await cluster.waitForLeader(10_000);
    const acknowledged = new Map<string, string>();
    let next = 0;
    let killedAt = -1;
    let firstAckAfterKillMs = -1;
    const clients: CairnClient[] = cluster.members.map((m) => cluster.client([m.name], 3000));
    const writer = async (w: number): Promise<void> => {
      while (next < WRITES_TOTAL) {
        const i = next++;
        const key = `k${i}`;
        const value = `v${i}`;
        const client = clients[(w + i) % clients.length] as CairnClient;
        const issuedAt = Date.now();
        try {
          await client.put(key, value);
          acknowledged.set(key, value);
          // Only writes issued after the kill show that a new leader serves writes.
          if (killedAt >= 0 && issuedAt > killedAt && firstAckAfterKillMs < 0) {
            firstAckAfterKillMs = Date.now() - killedAt;
          }
        } catch {
          // Not acknowledged: it may or may not have committed, so it is not checked.
          await sleep(20);
        }
        if (i === 300 && killedAt < 0) {
          killedAt = Date.now();
          await cluster.kill(leader, "SIGKILL");
        }
      }
    };
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    for (const client of clients) client.close();
    expect(killedAt).toBeGreaterThan(0);
    expect(firstAckAfterKillMs).toBeGreaterThan(0);
    expect(acknowledged.size).toBeGreaterThan(WRITES_TOTAL / 2);
    // Writes resumed on a new leader (figure logged for the issue note, not asserted as a timing).
    console.log(`writes resumed ${firstAckAfterKillMs} ms after kill -9 of the leader ${leader}`);

    const survivors = cluster.members.filter((m) => m.name !== leader).map((m) => m.name);
    const newLeader = await cluster.waitForLeader(10_000, survivors);
    expect(newLeader).not.toBe(leader);
    const reader = cluster.client(survivors);
    for (const [key, value] of acknowledged) {
      const kv = await reader.get(key);
      expect(kv?.value.toString(), key).toBe(value);
    }
    reader.close();

    cluster.startMember(leader);
    const leaderStatus = await cluster.status(newLeader);
    await cluster.waitForApplied([leader], leaderStatus?.commitIndex ?? 0, 20_000);
    const victim = cluster.client([leader]);
    for (const [key, value] of acknowledged) {
      const kv = await victim.get(key, { serializable: true });
      expect(kv?.value.toString(), `${key} on restarted ${leader}`).toBe(value);
    }
    victim.close();
  });
});
