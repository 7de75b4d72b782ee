// Durability with real processes: writers run while members are killed -9 at
// random moments (leader or follower) and restarted, 20 times (100 with
// CAIRN_LONG_TESTS=1). After every restart, once the members have caught up
// to a common revision R: every write acknowledged at or below R is there, on
// every member, and their HashKV at R agree. The leader's corruption check
// runs throughout and must never fire. At the end the members' Raft logs on
// disk agree entry for entry on everything committed (Raft's Log Matching).
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CairnClient } from "../../src/client/client.js";
import type { Entry } from "../../src/raft/types.js";
import { DiskStore } from "../../src/storage/index.js";
import { sleep, TestCluster } from "./harness.js";
import { hashKvByMember, prefixAt } from "./member-reads.js";

const LONG = process.env.CAIRN_LONG_TESTS === "1";
const KILLS = LONG ? 100 : 20;
const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
const NAMES = ["n1", "n2", "n3"];
const WRITERS = 4;
/** Writes per writer: a bound on the load, far above what the kills leave time for. */
const WRITES_PER_WRITER_MAX = 200_000;

/** Deterministic choices for the kill schedule, replayable with CRASH_SEED. */
function schedule(): Array<{ victim: number; afterMs: number }> {
  return fc.sample(
    fc.record({
      victim: fc.integer({ min: 0, max: 2 }),
      afterMs: fc.integer({ min: 50, max: 500 }),
    }),
    { numRuns: KILLS, seed },
  );
}

interface Acknowledged {
  readonly value: string;
  readonly revision: number;
}

describe(`crash recovery (CRASH_SEED=${seed})`, { timeout: 60_000 + KILLS * 8_000 }, () => {
  let cluster: TestCluster;
  const replay = `replay with CRASH_SEED=${seed}`;
  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3, extraArgs: ["--corrupt-check-interval", "1s"] });
    await cluster.waitForLeader(10_000);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  /** Waits until every member has applied what the leader has committed; returns its revision then. */
  async function commonRevision(): Promise<number> {
    const leader = await cluster.waitForLeader(15_000);
    const status = await cluster.status(leader);
    if (status === null) throw new Error(`leader ${leader} did not answer Status`);
    await cluster.waitForApplied(NAMES, status.commitIndex, 20_000);
    return status.revision;
  }

  /** Every write acknowledged at or below `revision` is on every member, and they hash alike. */
  async function checkAgreement(acked: ReadonlyMap<string, Acknowledged>, revision: number) {
    const hashes = await hashKvByMember(cluster, NAMES, revision);
    expect(new Set(hashes.values()).size, `HashKV at ${revision}: ${[...hashes]} (${replay})`).toBe(
      1,
    );
    for (const name of NAMES) {
      const state = await prefixAt(cluster, name, "c", revision);
      for (const [key, { value, revision: at }] of acked) {
        if (at > revision) continue;
        expect(state.get(key), `${key}@${at} on ${name} at ${revision} (${replay})`).toBe(value);
      }
    }
  }

  it(`loses no acknowledged write across ${KILLS} kill -9s, and members agree`, async () => {
    const acked = new Map<string, Acknowledged>();
    let stop = false;
    let sequence = 0;
    const clients: CairnClient[] = cluster.members.map((m) => cluster.client([m.name], 2000));
    const writer = async (w: number): Promise<void> => {
      for (let n = 0; n < WRITES_PER_WRITER_MAX && !stop; n++) {
        const i = sequence++;
        try {
          const value = `v${i}-${w}`;
          const { revision } = await (clients[(w + i) % clients.length] as CairnClient).put(
            `c${i}`,
            value,
          );
          acked.set(`c${i}`, { value, revision });
        } catch {
          await sleep(20);
        }
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
    let checks = 0;
    for (const { victim, afterMs } of schedule()) {
      await sleep(afterMs);
      const name = NAMES[victim] as string;
      await cluster.kill(name, "SIGKILL");
      await sleep(afterMs / 2);
      cluster.startMember(name);
      const revision = await commonRevision();
      await checkAgreement(new Map(acked), revision);
      checks++;
    }
    stop = true;
    await Promise.all(writers);
    for (const client of clients) client.close();
    expect(checks).toBe(KILLS);
    expect(acked.size, replay).toBeGreaterThan(100);

    const revision = await commonRevision();
    await checkAgreement(acked, revision);
    const statuses = await Promise.all(NAMES.map((n) => cluster.status(n)));
    expect(new Set(statuses.map((s) => s?.revision)).size, replay).toBe(1);
    expect(cluster.tailLogs(1_000_000), `a false CORRUPT alarm (${replay})`).not.toMatch(
      /raising the CORRUPT alarm/,
    );

    // Log Matching on disk: stop every member cleanly and read its Raft log.
    for (const name of NAMES) await cluster.kill(name, "SIGTERM");
    const logs = new Map<string, { entries: Entry[]; commit: number }>();
    for (const member of cluster.members) {
      const store = await DiskStore.open(member.dataDir);
      const loaded = await store.load();
      await store.close();
      logs.set(member.name, { entries: loaded.entries, commit: loaded.hardState.commit });
    }
    const commits = [...logs.values()].map((l) => l.commit);
    const from = Math.max(...[...logs.values()].map((l) => l.entries[0]?.index ?? 1));
    const to = Math.min(...commits);
    expect(to, `committed on every member (${replay})`).toBeGreaterThan(from);
    const render = (entry: Entry | undefined) =>
      entry === undefined
        ? "missing"
        : `${entry.index}@${entry.term}:${entry.kind}:${Buffer.from(entry.data).toString("hex")}`;
    for (let index = from; index <= to; index++) {
      const rendered = NAMES.map((name) => {
        const { entries } = logs.get(name) as { entries: Entry[] };
        return render(entries[index - (entries[0]?.index ?? 1)]);
      });
      expect(
        new Set(rendered).size,
        `log index ${index}: ${rendered.join(" | ")} (${replay})`,
      ).toBe(1);
    }
  });
});
