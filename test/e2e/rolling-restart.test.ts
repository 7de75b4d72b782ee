// A rolling restart of a 3-member cluster under a steady write load from the
// client library: each member in turn gets SIGTERM (the leader first whenever
// it has not been restarted yet, so leadership is handed over more than once)
// and comes back. No acknowledged write may be lost, and leadership may move
// only by transfer: every new term comes from a "timeout-now" candidacy, never
// from an election timeout. The longest gap between acknowledged writes is
// printed, not asserted (speed is measured by bench/, not by tests).
import { afterAll, describe, expect, it } from "vitest";
import { Cairn } from "../../src/client/client.js";
import { CairnRpcError } from "../../src/client/errors.js";
import { candidaciesSince, markLogs, sleep, TestCluster } from "./harness.js";

/** Bound on the writer: it stops here even if the restarts are not done. */
const WRITES_MAX = 20_000;
/** Writes that must land between the steps, so every step happens under load. */
const WRITES_PER_PHASE = 25;

/** One client writing keys rr/000001, rr/000002, ... one after another until stopped. */
class Writer {
  readonly acked = new Map<string, string>();
  readonly inDoubt: string[] = [];
  readonly refused: string[] = [];
  maxGapMs = 0;
  private lastAckMs = 0;
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(private readonly client: Cairn) {
    this.done = this.run();
  }

  private async run(): Promise<void> {
    for (let seq = 1; seq <= WRITES_MAX && !this.stopped; seq++) {
      const key = `rr/${String(seq).padStart(6, "0")}`;
      try {
        await this.client.put(key, String(seq));
        const now = performance.now();
        if (this.lastAckMs > 0) this.maxGapMs = Math.max(this.maxGapMs, now - this.lastAckMs);
        this.lastAckMs = now;
        this.acked.set(key, String(seq));
      } catch (error) {
        if (!(error instanceof CairnRpcError)) throw error;
        // Failed after it may have reached a member: it may or may not have landed.
        (error.outcomeUnknown ? this.inDoubt : this.refused).push(key);
      }
    }
  }

  async waitForMore(count: number, timeoutMs = 20_000): Promise<void> {
    const target = this.acked.size + count;
    const deadline = Date.now() + timeoutMs;
    while (this.acked.size < target) {
      if (Date.now() > deadline) {
        throw new Error(`writes stalled at ${this.acked.size} acknowledged (wanted ${target})`);
      }
      await sleep(20);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

describe("rolling restart of a 3-member cluster under write load", { timeout: 180_000 }, () => {
  let cluster: TestCluster | undefined;
  const clients: Cairn[] = [];
  afterAll(async () => {
    for (const client of clients) client.close();
    await cluster?.stop();
  });

  it("SIGTERM and restart each member in turn: no acknowledged write lost, leadership moved only by transfer", async () => {
    const c = await TestCluster.start({ size: 3 });
    cluster = c;
    const names = c.members.map((m) => m.name);
    const termOf = async (name: string): Promise<number> => (await c.status(name))?.term ?? -1;
    await c.waitForLeader(15_000);
    const marks = markLogs(c); // after the first election
    const startTerm = await termOf(await c.waitForLeader());
    const connect = (): Cairn => {
      const client = new Cairn({
        endpoints: c.members.map((m) => m.client),
        timeoutMs: 2_000,
        callTimeoutMs: 8_000,
      });
      clients.push(client);
      return client;
    };
    const writer = new Writer(connect());
    await writer.waitForMore(WRITES_PER_PHASE);

    const restarted = new Set<string>();
    let handoffs = 0;
    while (restarted.size < names.length) {
      const leader = await c.waitForLeader(15_000, names);
      const victim = restarted.has(leader)
        ? (names.find((n) => !restarted.has(n)) as string)
        : leader;
      const term = await termOf(leader);
      expect(await c.stopGracefully(victim), `${victim} exit code`).toBe(0);
      const survivors = names.filter((n) => n !== victim);
      const next = await c.waitForLeader(10_000, survivors);
      if (victim === leader) {
        handoffs++;
        expect(next).not.toBe(victim);
        expect(await termOf(next), `term after ${victim} handed over`).toBe(term + 1);
      } else {
        expect(next).toBe(leader);
        expect(await termOf(next), `term after follower ${victim} stopped`).toBe(term);
      }
      await writer.waitForMore(WRITES_PER_PHASE); // while the member is down
      c.startMember(victim);
      restarted.add(victim);
      await c.waitForLeader(15_000, names);
      const commit = (await c.status(next))?.commitIndex ?? 0;
      await c.waitForApplied([victim], commit);
      await writer.waitForMore(WRITES_PER_PHASE); // with the member back
    }
    await writer.stop();

    const reader = connect();
    const stored = new Map(
      (await reader.kv.getPrefix("rr/")).map((kv) => [kv.key.toString(), kv.value.toString()]),
    );
    const lost = [...writer.acked].filter(([key, value]) => stored.get(key) !== value);
    expect(lost, "acknowledged writes missing after the rolling restart").toEqual([]);
    for (const key of writer.refused) expect(stored.has(key), `${key} was refused`).toBe(false);
    const candidacies = candidaciesSince(c, marks);
    expect(candidacies.filter((x) => x.reason !== "timeout-now")).toEqual([]);
    expect(candidacies).toHaveLength(handoffs);
    expect(await termOf(await c.waitForLeader(15_000, names))).toBe(startTerm + handoffs);
    expect(handoffs).toBeGreaterThanOrEqual(2);
    const landedInDoubt = writer.inDoubt.filter((key) => stored.has(key)).length;
    console.log(
      `[rolling restart] ${writer.acked.size} writes acknowledged, ${writer.inDoubt.length} in doubt ` +
        `(${landedInDoubt} of them landed), ${writer.refused.length} refused; ${handoffs} handoffs; ` +
        `longest gap between acknowledged writes: ${Math.round(writer.maxGapMs)} ms`,
    );
  });
});
