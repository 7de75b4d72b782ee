// Crash recovery with real processes: a writer runs while members are killed
// -9 twenty times at random moments (leader or follower) and restarted. At the
// end nothing acknowledged is lost, and every member holds the same state.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CairnClient } from "../../src/client/client.js";
import { sleep, TestCluster } from "./harness.js";

const KILLS = 20;
const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);

/** Deterministic choices for the kill schedule, replayable with CRASH_SEED. */
function schedule(): Array<{ victim: number; afterMs: number }> {
  return fc.sample(
    fc.record({
      victim: fc.integer({ min: 0, max: 2 }),
      afterMs: fc.integer({ min: 50, max: 600 }),
    }),
    { numRuns: KILLS, seed },
  );
}

describe(`crash recovery (CRASH_SEED=${seed})`, { timeout: 240_000 }, () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3 });
    await cluster.waitForLeader(10_000);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it(`loses no acknowledged write across ${KILLS} kill -9s, and members agree`, async () => {
    const acknowledged = new Map<string, string>();
    let stop = false;
    let sequence = 0;
    const clients: CairnClient[] = cluster.members.map((m) => cluster.client([m.name], 2000));
    const writer = async (w: number): Promise<void> => {
      while (!stop) {
        const i = sequence++;
        try {
          await (clients[(w + i) % clients.length] as CairnClient).put(`c${i}`, `v${i}-${w}`);
          acknowledged.set(`c${i}`, `v${i}-${w}`);
        } catch {
          await sleep(20);
        }
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    for (const { victim, afterMs } of schedule()) {
      await sleep(afterMs);
      const name = cluster.members[victim]?.name as string;
      await cluster.kill(name, "SIGKILL");
      await sleep(afterMs / 2);
      cluster.startMember(name);
      await cluster.waitForLeader(15_000);
    }
    stop = true;
    await Promise.all(writers);
    for (const client of clients) client.close();
    expect(acknowledged.size, `replay with CRASH_SEED=${seed}`).toBeGreaterThan(100);

    const leader = await cluster.waitForLeader(15_000);
    const commit = (await cluster.status(leader))?.commitIndex ?? 0;
    const names = cluster.members.map((m) => m.name);
    await cluster.waitForApplied(names, commit, 30_000);
    const statuses = await Promise.all(names.map((n) => cluster.status(n)));
    const revisions = new Set(statuses.map((s) => s?.revision));
    expect(revisions.size, `members disagree on revision (CRASH_SEED=${seed})`).toBe(1);
    for (const name of names) {
      const client = cluster.client([name]);
      for (const [key, value] of acknowledged) {
        const kv = await client.get(key, { serializable: true });
        expect(kv?.value.toString(), `${key} on ${name} (CRASH_SEED=${seed})`).toBe(value);
      }
      client.close();
    }
  });
});
