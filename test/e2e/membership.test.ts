// Membership changes on a real cluster under a write load: a 3-member cluster
// grows to 5 (a learner that catches up by snapshot, promoted; a voter) and
// shrinks back to 3 (including removing the leader, which hands off first)
// without losing an acknowledged write; members agree on HashKV. And a member
// whose data dir is wiped rejoins and catches up by snapshot.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { Client, credentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Cairn } from "../../src/client/client.js";
import { MAINTENANCE_SERVICE } from "../../src/server/services.js";
import { callUnary } from "../../src/transport/grpc-codec.js";
import { sleep, TestCluster } from "./harness.js";

// Small snapshot settings so that a joining member can only catch up by snapshot.
const SNAPSHOT_ARGS = ["--snapshot-count", "40", "--snapshot-catchup-entries", "10"];
const WRITES_MAX = 5_000;
const WRITE_LOAD_MS_MAX = 90_000;

/** A bounded background writer: sequential puts, remembering which were acknowledged. */
class WriteLoad {
  readonly acked = new Map<string, string>();
  failures = 0;
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(client: Cairn, prefix: string) {
    const deadline = Date.now() + WRITE_LOAD_MS_MAX;
    this.done = (async () => {
      for (let i = 0; i < WRITES_MAX && !this.stopped && Date.now() < deadline; i++) {
        const key = `${prefix}/${i}`;
        try {
          await client.put(key, `v${i}`);
          this.acked.set(key, `v${i}`);
        } catch {
          this.failures++;
          await sleep(20);
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

function logOf(cluster: TestCluster, name: string): string {
  const file = cluster.member(name).logFile;
  return existsSync(file) ? readFileSync(file, "utf8") : "";
}

let diagnose: () => string = () => "";

async function eventually<T>(check: () => Promise<T | null>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== null) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(200);
  }
  throw new Error(
    `${what} within ${timeoutMs} ms (last error: ${String(lastError)})\n${diagnose()}`,
  );
}

async function hashKvOf(cluster: TestCluster, names: readonly string[], revision: number) {
  return Promise.all(
    names.map(async (name) => {
      const channel = new Client(cluster.member(name).client, credentials.createInsecure());
      try {
        const response = await callUnary(channel, MAINTENANCE_SERVICE.HashKV, { revision });
        return response.hash;
      } finally {
        channel.close();
      }
    }),
  );
}

async function statusOf(cluster: TestCluster, name: string) {
  const channel = new Client(cluster.member(name).client, credentials.createInsecure());
  try {
    return await callUnary(channel, MAINTENANCE_SERVICE.Status, {});
  } finally {
    channel.close();
  }
}

/** Waits until `names` have applied the leader's commit index, then compares HashKV at one revision. */
async function expectSameState(cluster: TestCluster, client: Cairn, names: readonly string[]) {
  const { revision } = await client.put("hash-point", String(Date.now()));
  const leader = await cluster.waitForLeader(15_000, names);
  const commit = (await cluster.status(leader))?.commitIndex ?? 0;
  await cluster.waitForApplied(names, commit, 30_000);
  const hashes = await hashKvOf(cluster, names, revision);
  expect(new Set(hashes).size, `HashKV at ${revision}: ${hashes.join(",")}`).toBe(1);
}

async function expectAllAcked(client: Cairn, load: WriteLoad): Promise<void> {
  expect(load.acked.size).toBeGreaterThan(0);
  for (const [key, value] of load.acked) {
    const kv = await client.get(key);
    expect(kv?.value.toString(), key).toBe(value);
  }
}

describe("membership changes on a running cluster", { timeout: 180_000 }, () => {
  let cluster: TestCluster;
  let client: Cairn;

  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3, extraArgs: SNAPSHOT_ARGS, faultHooks: true });
    diagnose = () => cluster.tailLogs(25);
    await cluster.waitForLeader(15_000);
    client = cluster.client(["n1", "n2", "n3"], 5_000);
  });

  afterAll(async () => {
    client?.close();
    await cluster?.stop();
  });

  it("grows 3 → 5 and shrinks back to 3 under writes, losing nothing", async () => {
    const load = new WriteLoad(client, "grow");
    // Enough writes that the log is compacted: a new member needs a snapshot.
    await eventually(async () => (load.acked.size >= 150 ? true : null), 60_000, "150 writes");

    // n4 joins as a learner and catches up (by snapshot: its log starts empty).
    const n4 = await cluster.addMember("n4");
    const added = await client.cluster.add([`http://${n4.peer}`], { learner: true });
    expect(added.member.isLearner).toBe(true);
    cluster.startMember("n4");
    await eventually(
      async () => (logOf(cluster, "n4").includes("installed a snapshot") ? true : null),
      60_000,
      "n4 installs a snapshot",
    );
    // Maintenance.Status reports each member's own learner state.
    expect((await statusOf(cluster, "n4")).isLearner).toBe(true);
    expect((await statusOf(cluster, "n1")).isLearner).toBe(false);
    await eventually(
      async () => {
        await client.cluster.promote(added.member.id);
        return true;
      },
      60_000,
      "n4 promoted",
    );
    await eventually(
      async () => ((await statusOf(cluster, "n4")).isLearner ? null : true),
      10_000,
      "n4 reports itself a voter",
    );

    // n5 joins directly as a voter.
    const n5 = await cluster.addMember("n5");
    await client.cluster.add([`http://${n5.peer}`]);
    cluster.startMember("n5");
    const five = await eventually(
      async () => {
        const members = await client.cluster.list();
        const named = members.filter((m) => m.name !== "" && !m.isLearner);
        return named.length === 5 ? members : null;
      },
      60_000,
      "5 started voters",
    );
    expect(five.map((m) => m.name).sort()).toEqual(["n1", "n2", "n3", "n4", "n5"]);
    await expectSameState(cluster, client, ["n1", "n2", "n3", "n4", "n5"]);

    // Shrink: make n5 the leader, then remove it (it hands off first), then n4.
    await client.moveLeader("n5");
    const n5Id = five.find((m) => m.name === "n5")?.id ?? 0;
    const n4Id = five.find((m) => m.name === "n4")?.id ?? 0;
    await client.cluster.remove(n5Id);
    await client.cluster.remove(n4Id);
    // MemberList answers from the member asked, which may not have applied the removal yet.
    await eventually(
      async () => {
        const names = (await client.cluster.list()).map((m) => m.name).sort();
        return names.join(",") === "n1,n2,n3" ? names : null;
      },
      10_000,
      "the membership is n1, n2, n3 again",
    );
    // Removed members stop by themselves, as etcd's do.
    await eventually(
      async () =>
        cluster.member("n4").process === null && cluster.member("n5").process === null
          ? true
          : null,
      20_000,
      "removed members exit",
    );

    await load.stop();
    console.log(
      `membership: ${load.acked.size} writes acknowledged, ${load.failures} failed (outcome unknown or refused)`,
    );
    await expectAllAcked(client, load);
    await expectSameState(cluster, client, ["n1", "n2", "n3"]);
  });

  it("refuses bad changes with etcd's errors", async () => {
    const members = await client.cluster.list();
    const voter = members[0];
    expect(voter).toBeDefined();
    await expect(client.cluster.promote(voter?.id ?? 0)).rejects.toThrow(
      "etcdserver: can only promote a learner member",
    );
    await expect(client.cluster.remove(0xdead)).rejects.toThrow("etcdserver: member not found");
    await expect(
      client.cluster.add([`http://${voter?.peerUrls[0]?.replace("http://", "")}`]),
    ).rejects.toThrow("etcdserver: Peer URLs already exists");
    await expect(client.cluster.add(["not a url"])).rejects.toThrow(
      "given member URLs are invalid",
    );
    // MemberUpdate: a member may keep (or move to) an address no other member uses.
    const updated = await client.cluster.update(voter?.id ?? 0, voter?.peerUrls ?? []);
    expect(updated.find((m) => m.id === voter?.id)?.peerUrls).toEqual(voter?.peerUrls);
    await expect(client.cluster.update(0xdead, ["http://127.0.0.1:9"])).rejects.toThrow(
      "etcdserver: member not found",
    );
    const other = members[1];
    await expect(client.cluster.update(voter?.id ?? 0, other?.peerUrls ?? [])).rejects.toThrow(
      "etcdserver: Peer URLs already exists",
    );
  });

  it("a member whose data dir is wiped rejoins and catches up by snapshot", async () => {
    const load = new WriteLoad(client, "wipe");
    await eventually(async () => (load.acked.size >= 100 ? true : null), 60_000, "100 writes");
    const leader = await cluster.waitForLeader(15_000, ["n1", "n2", "n3"]);
    const victim = ["n1", "n2", "n3"].find((n) => n !== leader) ?? "n3";
    await cluster.kill(victim);
    rmSync(cluster.member(victim).dataDir, { recursive: true, force: true });
    // Same name and addresses; it asks the others who it is and starts empty.
    cluster.member(victim).joining = true;
    cluster.startMember(victim);
    await eventually(
      async () => (logOf(cluster, victim).includes("installed a snapshot") ? true : null),
      60_000,
      `${victim} installs a snapshot`,
    );
    await load.stop();
    await expectAllAcked(client, load);
    await expectSameState(cluster, client, ["n1", "n2", "n3"]);
  });

  it("a joiner stopped before it received any state finds its peers again on restart", async () => {
    const n7 = await cluster.addMember("n7");
    const { member } = await client.cluster.add([`http://${n7.peer}`], { learner: true });
    // Nothing reaches n7 from the others: it records its identity, gets no state.
    const cut = { links: [{ peer: member.id, direction: "both", drop: true }] };
    for (const name of ["n1", "n2", "n3"]) await cluster.faults(name, cut);
    cluster.startMember("n7");
    await eventually(
      async () => (logOf(cluster, "n7").includes("bootstrapped a new member") ? true : null),
      20_000,
      "n7 bootstraps",
    );
    await sleep(500);
    expect(logOf(cluster, "n7")).not.toContain("installed a snapshot");
    await cluster.kill("n7");
    for (const name of ["n1", "n2", "n3"]) await cluster.faults(name, { links: [] });
    cluster.startMember("n7");
    await eventually(
      async () => (logOf(cluster, "n7").includes("installed a snapshot") ? true : null),
      30_000,
      "n7 catches up after its restart",
    );
    await client.cluster.remove(member.id);
  });
});
