// cairn.v1 through a leader kill -9 on a real 3-member cluster: writers keep
// updating resources (compare-and-set on the version) through every member
// while the leader dies. Nothing acknowledged is lost, each resource's
// versions step by one with no gap, and the op log is complete, contiguous
// and identical on the survivors and on the restarted victim.
import { type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { cairn } from "../../src/gen/cairn.js";
import { OPLOG_SERVICE } from "../../src/server/platform/oplog.js";
import { RESOURCES_SERVICE } from "../../src/server/platform/resources.js";
import { sleep, TestCluster } from "./harness.js";
import { Channels, type Session, serverSpec, signUp } from "./platform-helpers.js";

const WRITERS = 4;
const UPDATES_PER_WRITER = 25;
const KILL_AFTER_ACKS = 30;
/** Statuses after which the outcome of a write is unknown (it may still commit). */
const UNKNOWN_OUTCOME = new Set<number>([status.UNAVAILABLE, status.DEADLINE_EXCEEDED]);

type Record = cairn.v1.OpLogRecord.$Properties;

describe("cairn.v1 under a leader kill -9", { timeout: 60_000 }, () => {
  let cluster: TestCluster;
  let channels: Channels;
  let ops: Session;
  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3 });
    await cluster.waitForLeader(10_000);
    channels = new Channels(cluster);
    ops = await signUp(channels, "root");
  });
  afterAll(async () => {
    channels?.close();
    await cluster?.stop();
  });

  /** Retries a read on the next member until one answers (members die, leaders change). */
  const readVersion = async (id: string, from: number): Promise<number> => {
    for (let attempt = from; ; attempt++) {
      try {
        return (
          (await ops.call(RESOURCES_SERVICE.Get, { id }, attempt, 3000)).resource?.version ?? 0
        );
      } catch {
        await sleep(50);
      }
    }
  };

  const allRecords = async (member: number): Promise<Record[]> => {
    const records: Record[] = [];
    let pageToken = "";
    do {
      const page = await ops.call(OPLOG_SERVICE.List, { pageSize: 500, pageToken }, member);
      records.push(...page.records);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    return records;
  };

  it("loses no acknowledged update and keeps the op log complete and ordered", async () => {
    const ids: string[] = [];
    for (let w = 0; w < WRITERS; w++) {
      const created = await ops.call(RESOURCES_SERVICE.Create, {
        name: `failover-${w}`,
        region: "eu-west",
        server: serverSpec(),
      });
      ids.push(created.resource?.id ?? "");
    }
    const leader = await cluster.waitForLeader(10_000);
    const victim = cluster.members.findIndex((m) => m.name === leader);
    const acknowledged = new Map<string, number[]>(ids.map((id) => [id, []]));
    let acks = 0;
    let killed = false;
    const writer = async (w: number): Promise<void> => {
      const id = ids[w] as string;
      let version = 1;
      let member = w;
      while (version < 1 + UPDATES_PER_WRITER) {
        member++;
        try {
          const updated = await ops.call(
            RESOURCES_SERVICE.Update,
            { id, expectedVersion: version, labels: { labels: { step: String(version) } } },
            member,
            3000,
          );
          version = updated.resource?.version ?? 0;
          acknowledged.get(id)?.push(version);
          acks++;
        } catch (error) {
          const { code, details } = error as ServiceError;
          // A stream cut by the kill can surface as INTERNAL from the transport, not the server.
          const cut = code === status.INTERNAL && /RST_STREAM|Session closed/.test(details);
          // ABORTED: an earlier attempt whose answer was lost did commit; re-read and go on.
          if (!UNKNOWN_OUTCOME.has(code) && !cut && code !== status.ABORTED) throw error;
          await sleep(50);
          version = await readVersion(id, member + 1);
        }
        if (acks >= KILL_AFTER_ACKS && !killed) {
          killed = true;
          await cluster.kill(leader, "SIGKILL");
        }
      }
    };
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    expect(killed).toBe(true);
    const survivors = [0, 1, 2].filter((m) => m !== victim);
    for (const id of ids) {
      const version = await readVersion(id, survivors[0] as number);
      expect(version).toBe(1 + UPDATES_PER_WRITER);
    }
    const logs = await Promise.all(survivors.map((m) => allRecords(m)));
    expect(logs[1]).toEqual(logs[0]);
    const records = logs[0] as Record[];
    const sequences = records.map((r) => r.sequence);
    expect(sequences).toEqual(records.map((_, i) => (records[0]?.sequence ?? 0) + i));
    for (const id of ids) {
      const applied = records
        .filter(
          (r) =>
            r.target === `resource/${id}` && r.action === "resource.update" && r.outcome === "ok",
        )
        .map((r) => Number(r.after?.version));
      // Every change is recorded once, in order, and every acknowledged one is among them.
      expect(applied).toEqual(Array.from({ length: UPDATES_PER_WRITER }, (_, i) => i + 2));
      expect(applied).toEqual(expect.arrayContaining(acknowledged.get(id) ?? []));
      expect(acknowledged.get(id)?.length).toBeGreaterThan(0);
    }
    // The victim comes back and catches up to the same log.
    cluster.startMember(leader);
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        const victimLog = await allRecords(victim);
        if (victimLog.length >= records.length) {
          expect(victimLog.slice(0, records.length)).toEqual(records);
          break;
        }
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
      if (Date.now() > deadline) throw new Error("the restarted member did not catch up");
      await sleep(200);
    }
  });
});
