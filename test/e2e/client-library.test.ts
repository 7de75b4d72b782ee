// The client library end to end on a real 3-member cluster: users and
// sessions, resource CRUD with paged lists, stats and a live watch, the op
// log, lock(name, fn) excluding contending clients with a fenced counter, and
// membership with a local view that agrees with the server's Locate.
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cairn } from "../../src/client/client.js";
import type { MembershipView } from "../../src/client/membership-view.js";
import type { ResourceEvent } from "../../src/client/types.js";
import { sleep, TestCluster } from "./harness.js";

const PASSWORD = "correct horse battery";
const SERVER = {
  image: "ubuntu:24.04",
  cpu: 2,
  memoryMib: 2048,
  diskGib: 20,
  bandwidthMbps: 100,
  hostname: "web.example.com",
};
const REGION = "eu-west";

describe("client library on a 3-member cluster", { timeout: 40_000 }, () => {
  let cluster: TestCluster;
  let admin: Cairn;
  const clients: Cairn[] = [];

  /** A client over every member, starting at member `first`. */
  const connect = (first = 0): Cairn => {
    const endpoints = cluster.members.map((m) => m.client);
    const rotated = [...endpoints.slice(first), ...endpoints.slice(0, first)];
    const client = new Cairn({ endpoints: rotated, timeoutMs: 5_000 });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3 });
    await cluster.waitForLeader(10_000);
    admin = connect(0);
    await admin.users.register({ username: "root", password: PASSWORD, email: "root@example.com" });
    await admin.users.login("root", PASSWORD);
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await cluster?.stop();
  });

  it("registers, logs in (token used on every member), reads itself, logs out", async () => {
    expect((await admin.users.me()).roles).toEqual(["admin"]);
    const alice = connect(1);
    const registered = await alice.users.register({
      username: "alice",
      password: PASSWORD,
      email: "alice@example.com",
    });
    expect(registered).toMatchObject({ username: "alice", roles: ["viewer"] });
    await expect(alice.users.me()).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    const login = await alice.users.login("alice", PASSWORD);
    expect(alice.token).toBe(login.token);
    expect((await alice.users.me()).username).toBe("alice");
    // The same token works through a client that starts on another member.
    const elsewhere = new Cairn({
      endpoints: [cluster.members[2]?.client ?? ""],
      token: login.token,
    });
    clients.push(elsewhere);
    expect((await elsewhere.users.me()).username).toBe("alice");
    await admin.users.update("alice", { roles: ["operator"] });
    expect((await alice.users.get("alice")).roles).toEqual(["operator"]);
    const everyone = await admin.users.list({ pageSize: 1 }).all();
    expect(everyone.map((u) => u.username).sort()).toEqual(["alice", "root"]);
    await admin.users.register({ username: "temp", password: PASSWORD, email: "t@example.com" });
    expect(await admin.users.delete("temp")).toEqual({ sessionsRevoked: 0 });
    await expect(admin.users.get("temp")).rejects.toMatchObject({ code: status.NOT_FOUND });
    await alice.users.logout();
    expect(alice.token).toBeNull();
    await expect(elsewhere.users.me()).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
  });

  it("creates, reads, updates, starts, stops, installs and deletes a resource", async () => {
    const created = await admin.resources.create({
      name: "web-1",
      region: "eu-west",
      labels: { env: "prod" },
      server: SERVER,
    });
    expect(created).toMatchObject({ kind: "server", status: "provisioning", version: 1 });
    expect(created.server).toMatchObject(SERVER);
    const got = await admin.resources.get(created.id);
    expect(got).toEqual(created);
    const updated = await admin.resources.update(created.id, {
      expectedVersion: created.version,
      labels: { env: "staging" },
    });
    expect(updated).toMatchObject({ version: 2, labels: { env: "staging" } });
    await expect(
      admin.resources.update(created.id, { expectedVersion: 1, name: "stale" }),
    ).rejects.toMatchObject({ code: status.ABORTED });
    expect((await admin.resources.start(created.id)).status).toBe("running");
    const installed = await admin.resources.install(created.id, { name: "nginx", version: "1.27" });
    expect(installed.installedSoftware.map((s) => s.name)).toEqual(["nginx"]);
    expect((await admin.resources.restart(created.id)).status).toBe("running");
    expect((await admin.resources.stop(created.id)).status).toBe("stopped");
    expect((await admin.resources.delete(created.id)).status).toBe("deleted");
    await expect(admin.resources.start(created.id)).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
    });
    await expect(
      admin.resources.create({ name: "bad", region: REGION, server: { ...SERVER, cpu: 0 } }),
    ).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    const log = await admin.opLog.list({ filter: { resourceId: created.id } }).all();
    expect(log.map((r) => r.action)).toEqual(
      expect.arrayContaining(["resource.create", "resource.start", "resource.stop"]),
    );
  });

  it("lists in pages that all read one revision, with filters and stats", async () => {
    for (let i = 0; i < 7; i++) {
      await admin.resources.create({
        name: `batch-${i}`,
        category: "batch",
        region: REGION,
        server: SERVER,
      });
    }
    const pages = [];
    for await (const page of admin.resources.list({ filter: { category: "batch" }, pageSize: 3 })) {
      pages.push(page);
      // A write between pages must not show up in the listing.
      if (pages.length === 1) {
        await admin.resources.create({
          name: "batch-late",
          category: "batch",
          region: REGION,
          server: SERVER,
        });
      }
    }
    expect(pages.map((p) => p.items.length)).toEqual([3, 3, 1]);
    expect(new Set(pages.map((p) => p.revision)).size).toBe(1);
    const names = pages.flatMap((p) => p.items.map((r) => r.name));
    expect(names).toEqual(Array.from({ length: 7 }, (_, i) => `batch-${i}`));
    const descending = await admin.resources
      .list({ filter: { nameContains: "BATCH-" }, order: "descending" })
      .all();
    expect(descending[0]?.name).toBe("batch-late");
    const stats = await admin.resources.stats({ category: "batch" });
    expect(stats.total).toBe(8);
    expect(stats.cpuTotal).toBe(16);
  });

  it("watches resource changes as they happen", async () => {
    const watch = admin.resources.watch({ filter: { category: "watched" } });
    const events: ResourceEvent[] = [];
    const reading = (async () => {
      for await (const event of watch) {
        events.push(event);
        if (events.length === 3) break;
      }
    })();
    await watch.started; // changes from here on are delivered
    const writer = connect(2);
    writer.token = admin.token;
    const resource = await writer.resources.create({
      name: "watched-1",
      category: "watched",
      region: REGION,
      server: SERVER,
    });
    await writer.resources.start(resource.id);
    await writer.resources.stop(resource.id);
    await reading;
    expect(events.map((e) => [e.type, e.resource.status])).toEqual([
      ["created", "provisioning"],
      ["updated", "running"],
      ["updated", "stopped"],
    ]);
    expect(events[1]?.prev?.status).toBe("provisioning");
    expect(events[0]?.sequence).toBeLessThan(events[2]?.sequence ?? 0);
  });

  it("replays resource changes from a store revision (sinceRevision)", async () => {
    const created = await admin.resources.create({
      name: "replayed-1",
      category: "replayed",
      region: REGION,
      server: SERVER,
    });
    const started = await admin.resources.start(created.id);
    await admin.resources.stop(created.id);
    const watch = admin.resources.watch({
      filter: { category: "replayed" },
      sinceRevision: started.modRevision,
    });
    const events: ResourceEvent[] = [];
    for await (const event of watch) {
      events.push(event);
      if (events.length === 2) break;
    }
    watch.close();
    expect(events.map((e) => [e.type, e.resource.status, e.revision])).toEqual([
      ["updated", "running", started.modRevision],
      ["updated", "stopped", expect.any(Number)],
    ]);
    const both = admin.resources.watch({ sinceRevision: 1, sinceSequence: 1 });
    await expect(both.started).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      message: expect.stringMatching(/since_sequence .*start_revision/),
    });
    both.close();
  });

  it("lock(name, fn) excludes contending clients; the fence guards every write", async () => {
    const WORKERS = 4;
    const ROUNDS = 4;
    const counter = await admin.resources.create({
      name: "counter",
      labels: { n: "0" },
      region: REGION,
      server: SERVER,
    });
    let holders = 0;
    let holdersMax = 0;
    const tokens: number[] = [];
    const worker = async (w: number): Promise<void> => {
      const client = connect(w % 3);
      client.token = admin.token;
      for (let round = 0; round < ROUNDS; round++) {
        await client.lock(
          "counter-lock",
          async (fence) => {
            holders++;
            holdersMax = Math.max(holdersMax, holders);
            tokens.push(fence.token);
            const current = await client.resources.get(counter.id);
            await sleep(5); // widen the critical section so an overlap would show
            await client.resources.update(counter.id, {
              fence: { lock: fence.lock, token: fence.token },
              labels: { n: String(Number(current.labels.n) + 1) },
            });
            holders--;
          },
          { ttlSeconds: 5, waitMs: 30_000 },
        );
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
    expect(holdersMax).toBe(1);
    expect((await admin.resources.get(counter.id)).labels.n).toBe(String(WORKERS * ROUNDS));
    // Tokens only grow, and one that has passed on is refused.
    expect([...tokens].sort((a, b) => a - b)).toEqual(tokens);
    await expect(
      admin.resources.update(counter.id, {
        fence: { lock: "counter-lock", token: tokens[0] ?? 0 },
        labels: { n: "stale" },
      }),
    ).rejects.toMatchObject({ code: status.ABORTED });
    expect((await admin.locks.get("counter-lock")).held).toBe(false);
  });

  it("lock(name, fn) releases when fn throws", async () => {
    await expect(
      admin.lock("throwing", async (fence) => {
        expect((await admin.locks.get("throwing")).holder?.token).toBe(fence.token);
        throw new Error("deploy failed");
      }),
    ).rejects.toThrow("deploy failed");
    expect((await admin.locks.get("throwing")).held).toBe(false);
    const again = await admin.locks.tryAcquire("throwing", { ttlSeconds: 5 });
    expect(again.acquired).toBe(true);
    await admin.locks.release("throwing", again.leaseId);
  });

  it("joins members; the local view locates as the server does and follows changes", async () => {
    const handles = await Promise.all(
      [
        { memberId: "m1", weight: 1 },
        { memberId: "m2", weight: 2 },
        { memberId: "m3", weight: 1 },
      ].map((m, i) => {
        const client = connect(i);
        client.token = admin.token;
        return client.membership.join(
          { group: "cache", address: `10.0.0.${i + 1}:6379`, ...m },
          { ttlSeconds: 5 },
        );
      }),
    );
    expect(handles.map((h) => h.member.memberId)).toEqual(["m1", "m2", "m3"]);
    const view: MembershipView = await admin.membership.view("cache");
    const agree = async (): Promise<void> => {
      for (let i = 0; i < 20; i++) {
        const key = `session-${i}`;
        const server = await admin.membership.locate("cache", key, { replicas: 2 });
        expect(server.revision).toBeGreaterThanOrEqual(view.revision);
        expect(view.locate(key, 2).map((m) => m.memberId)).toEqual(
          server.owners.map((m) => m.memberId),
        );
      }
    };
    await waitFor(() => view.members.length === 3);
    await agree();
    const changes: string[] = [];
    let snapshots = 0;
    handles[0]?.onChange((update) => {
      if (update.changes.length === 0) snapshots++;
      changes.push(...update.changes.map((c) => `${c.type}:${c.memberId}`));
    });
    await waitFor(() => snapshots === 1); // the watch's first answer: it is live
    await handles[1]?.leave();
    await waitFor(() => view.members.length === 2);
    await agree();
    await waitFor(() => changes.includes("leave:m2"));
    const listed = await admin.membership.list("cache");
    expect(listed.members.map((m) => m.memberId)).toEqual(["m1", "m3"]);
    // Kept alive past their 5 s TTL by the handles' keep-alive.
    await sleep(6_000);
    expect((await admin.membership.list("cache")).members).toHaveLength(2);
    view.close();
    await Promise.all(handles.map((h) => h.leave()));
    expect((await admin.membership.list("cache")).members).toHaveLength(0);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(20);
  }
}
