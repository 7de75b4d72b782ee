// The Watch service on a real 3-member cluster with the npm etcd3 client:
// events of writes made through other members arrive in revision order with
// prev_kv; a watch resumes from a past revision; a client whose member is
// killed fails over to another member and resumes from the revision it had
// reached, with no gap or repeat; a watch from a compacted revision is
// canceled with an error.
import { ConstantBackoff, noop } from "cockatiel";
import { Etcd3, type IKeyValue, type Watcher } from "etcd3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep, TestCluster } from "./harness.js";

interface Seen {
  type: "put" | "delete";
  key: string;
  value: string;
  mod: number;
  prev: string | null;
}

function record(watcher: Watcher): Seen[] {
  const seen: Seen[] = [];
  const push = (type: Seen["type"]) => (kv: IKeyValue, prev?: IKeyValue | null) =>
    seen.push({
      type,
      key: kv.key.toString(),
      value: kv.value.toString(),
      mod: Number(kv.mod_revision),
      prev: prev ? prev.value.toString() : null,
    });
  watcher.on("put", push("put"));
  watcher.on("delete", push("delete"));
  return seen;
}

async function until(condition: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe("etcd3 watches against a 3-member cairn cluster", { timeout: 30_000 }, () => {
  let cluster: TestCluster;
  let clients: Etcd3[] = [];
  const connect = (...names: string[]): Etcd3 => {
    const client = new Etcd3({
      hosts: names.map((name) => `http://${cluster.member(name).client}`),
      // Reconnect quickly and never trip the per-host breaker while a member restarts.
      faultHandling: { host: () => noop, watchBackoff: new ConstantBackoff(100).next() },
    });
    clients.push(client);
    return client;
  };
  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3 });
    await cluster.waitForLeader(10_000);
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    clients = [];
    await cluster?.stop();
  });

  it("delivers writes made through other members in revision order, with prev_kv", async () => {
    const watching = connect("n1");
    const writers = [connect("n2"), connect("n3")];
    const watcher = await watching.watch().prefix("order/").withPreviousKV().create();
    const seen = record(watcher);
    const expected: string[] = [];
    for (let i = 0; i < 30; i++) {
      const key = `order/k${i % 3}`;
      await (writers[i % 2] as Etcd3).put(key).value(`v${i}`);
      expected.push(`put ${key}=v${i}`);
    }
    await (writers[0] as Etcd3).delete().key("order/k0");
    expected.push("delete order/k0=");
    await (writers[1] as Etcd3).put("elsewhere").value("x");
    await until(() => seen.length === expected.length, "all events");
    expect(seen.map((e) => `${e.type} ${e.key}=${e.value}`)).toEqual(expected);
    const mods = seen.map((e) => e.mod);
    expect(mods).toEqual([...mods].sort((a, b) => a - b));
    expect(new Set(mods).size).toBe(mods.length);
    expect(seen[3]?.prev).toBe("v0");
    expect(seen.at(-1)?.prev).toBe("v27");
    await watcher.cancel();
  });

  it("replays from a past start revision, then continues live", async () => {
    const client = connect("n2");
    const first = await client.put("resume/a").value("1").exec();
    await client.put("resume/a").value("2");
    await client.put("resume/b").value("3");
    const start = Number(first.header.revision);
    const watcher = await connect("n3")
      .watch()
      .prefix("resume/")
      .startRevision(String(start + 1))
      .create();
    const seen = record(watcher);
    await until(() => seen.length === 2, "history");
    await client.put("resume/a").value("4");
    await until(() => seen.length === 3, "the live event");
    expect(seen.map((e) => e.value)).toEqual(["2", "3", "4"]);
    expect(seen[0]?.mod).toBe(start + 1);
    await watcher.cancel();
  });

  it("fails over to another member when its member is killed, resuming without gap or repeat", async () => {
    const leader = await cluster.waitForLeader(10_000);
    const followers = cluster.members.map((m) => m.name).filter((name) => name !== leader);
    const writer = connect(leader);
    // Only followers, so killing the one serving the stream leaves writes undisturbed.
    const watcher = connect(...followers)
      .watch()
      .key("failover")
      .watcher();
    const servedBy = new Promise<string>((resolve) =>
      watcher.once("connected", (response: { header: { member_id: string } }) =>
        resolve(response.header.member_id),
      ),
    );
    const seen = record(watcher);
    let disconnects = 0;
    watcher.on("disconnected", () => disconnects++);
    const memberId = await servedBy;
    const statuses = await Promise.all(followers.map((name) => cluster.status(name)));
    const victim = followers[statuses.findIndex((s) => String(s?.id) === memberId)] as string;
    expect(victim).toBeDefined();
    for (let i = 0; i < 5; i++) await writer.put("failover").value(`before${i}`);
    await until(() => seen.length === 5, "events before the kill");
    await cluster.kill(victim, "SIGKILL");
    for (let i = 0; i < 5; i++) await writer.put("failover").value(`during${i}`);
    // The survivor has these in history by now: the resumed watch must replay them.
    await cluster.waitForApplied(
      followers.filter((name) => name !== victim),
      (await cluster.status(leader))?.appliedIndex ?? 0,
    );
    await until(() => seen.length >= 10, "events replayed after failover");
    cluster.startMember(victim);
    for (let i = 0; i < 5; i++) await writer.put("failover").value(`after${i}`);
    await until(() => seen.length >= 15, "events after the restart");
    const expected = ["before", "during", "after"].flatMap((phase) =>
      [0, 1, 2, 3, 4].map((i) => `${phase}${i}`),
    );
    expect(seen.map((e) => e.value)).toEqual(expected);
    expect(disconnects).toBeGreaterThanOrEqual(1);
    await watcher.cancel();
    await cluster.waitForApplied([victim], (await cluster.status(leader))?.appliedIndex ?? 0);
  });

  it("cancels a watch from a compacted revision with an error", async () => {
    const client = connect("n1");
    const old = Number((await client.put("compacted").value("1").exec()).header.revision);
    const latest = Number((await client.put("compacted").value("2").exec()).header.revision);
    await client.kv.compact({ revision: latest, physical: true });
    const watcher = connect("n2").watch().key("compacted").startRevision(String(old)).watcher();
    const failure = new Promise<Error>((resolve) => watcher.on("error", resolve));
    expect((await failure).message).toMatch(/required revision has been compacted/);
  });
});
