// cairn.v1 watches and the op log on a real 3-member cluster over raw gRPC:
// the op log holds exactly the acknowledged operations (refusals included)
// in order; Resources.Watch and OpLog.Watch deliver ordered changes, through
// other members than the writer's, and resume from an op-log sequence.
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cairn } from "../../src/gen/cairn.js";
import { OPLOG_SERVICE } from "../../src/server/platform/oplog.js";
import { RESOURCES_SERVICE } from "../../src/server/platform/resources.js";
import { USERS_SERVICE } from "../../src/server/platform/users.js";
import { TestCluster } from "./harness.js";
import { Channels, expectStatus, type Session, serverSpec, signUp } from "./platform-helpers.js";

const { TYPE_CREATED, TYPE_UPDATED } = cairn.v1.ResourceEvent.Type;

type Record = cairn.v1.OpLogRecord.$Properties;
type ResourceEvent = cairn.v1.ResourceEvent.$Properties;

describe("cairn.v1 op log and watches on a 3-member cluster", { timeout: 40_000 }, () => {
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

  const lastSequence = async (member = 0): Promise<number> =>
    (await ops.call(OPLOG_SERVICE.List, { pageSize: 1 }, member)).lastSequence;

  /** Every record after `after`, oldest first, through List pages of `pageSize`. */
  const recordsAfter = async (after: number, member = 0): Promise<Record[]> => {
    const records: Record[] = [];
    let pageToken = "";
    do {
      const page = await ops.call(OPLOG_SERVICE.List, { pageSize: 7, pageToken }, member);
      records.push(...page.records.filter((r) => (r.sequence ?? 0) > after));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    return records;
  };

  const create = (name: string, labels: { [k: string]: string }, member: number) =>
    ops.call(
      RESOURCES_SERVICE.Create,
      { name, region: "eu-west", labels, server: serverSpec() },
      member,
    );

  it("holds exactly the acknowledged operations, in order, refusals with their code", async () => {
    const start = await lastSequence();
    const expected: Array<[string, string, string]> = [];
    const id = (await create("audit-1", {}, 0)).resource?.id ?? "";
    expected.push(["resource.create", `resource/${id}`, "ok"]);
    await ops.call(RESOURCES_SERVICE.Start, { id }, 1);
    expected.push(["resource.start", `resource/${id}`, "ok"]);
    await expectStatus(
      ops.call(RESOURCES_SERVICE.Update, { id, expectedVersion: 1, category: "x" }, 2),
      status.ABORTED,
    );
    expected.push(["resource.update", `resource/${id}`, "aborted"]);
    await ops.call(RESOURCES_SERVICE.Update, { id, expectedVersion: 2, category: "x" }, 0);
    expected.push(["resource.update", `resource/${id}`, "ok"]);
    await expectStatus(ops.call(RESOURCES_SERVICE.Delete, { id }, 1), status.FAILED_PRECONDITION);
    expected.push(["resource.delete", `resource/${id}`, "failed-precondition"]);
    // Reads and refusals before proposing (bad input) leave no record.
    await ops.call(RESOURCES_SERVICE.Get, { id }, 2);
    await expectStatus(create("bad name!", {}, 2), status.INVALID_ARGUMENT);
    await ops.call(RESOURCES_SERVICE.Stop, { id }, 2);
    expected.push(["resource.stop", `resource/${id}`, "ok"]);
    for (const member of [0, 1, 2]) {
      const records = await recordsAfter(start, member);
      expect(records.map((r) => [r.action, r.target, r.outcome])).toEqual(expected);
      expect(records.map((r) => r.sequence)).toEqual(expected.map((_, i) => start + 1 + i));
      expect(records.every((r) => r.actor === "root")).toBe(true);
    }
    const byResource = await ops.call(OPLOG_SERVICE.List, {
      filter: { resourceId: id },
      order: cairn.v1.SortOrder.SORT_ORDER_DESCENDING,
      pageSize: 2,
    });
    expect(byResource.records.map((r) => r.action)).toEqual(["resource.stop", "resource.delete"]);
  });

  const collectEvents = async (
    stream: { next(): Promise<{ events?: ResourceEvent[] | null }> },
    count: number,
  ): Promise<ResourceEvent[]> => {
    const events: ResourceEvent[] = [];
    while (events.length < count) events.push(...((await stream.next()).events ?? []));
    return events;
  };

  it("watches resource changes through another member and resumes from a sequence", async () => {
    const watch = ops.stream(
      RESOURCES_SERVICE.Watch,
      { filter: { labelSelector: "env=watch" } },
      1,
    );
    expect((await watch.next()).events).toEqual([]); // the confirmation
    const id = (await create("watched", { env: "watch" }, 0)).resource?.id ?? "";
    await create("ignored", { env: "other" }, 2);
    await ops.call(RESOURCES_SERVICE.Start, { id }, 2);
    await ops.call(
      RESOURCES_SERVICE.Update,
      { id, expectedVersion: 2, labels: { labels: { env: "gone" } } },
      0,
    );
    await create("ignored-2", { env: "other" }, 1);
    const events = await collectEvents(watch, 3);
    watch.cancel();
    expect(
      events.map((e) => [e.type, e.resource?.id, e.resource?.version, e.prev?.version ?? 0]),
    ).toEqual([
      [TYPE_CREATED, id, 1, 0],
      [TYPE_UPDATED, id, 2, 1],
      // The resource left the filter: the watcher still sees it go.
      [TYPE_UPDATED, id, 3, 2],
    ]);
    expect(events[2]?.resource?.labels).toEqual({ env: "gone" });
    const sequences = events.map((e) => e.sequence ?? 0);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    const resumed = ops.stream(
      RESOURCES_SERVICE.Watch,
      { resourceId: id, sinceSequence: sequences[1] ?? 0 },
      2,
    );
    await resumed.next();
    const replayed = await collectEvents(resumed, 2);
    resumed.cancel();
    expect(replayed.map((e) => e.sequence)).toEqual(sequences.slice(1));
    expect(replayed.map((e) => e.revision)).toEqual(events.slice(1).map((e) => e.revision));
  });

  it("replays the op log from a sequence and follows it, contiguous and in order", async () => {
    const from = (await lastSequence()) - 3;
    const watch = ops.stream(OPLOG_SERVICE.Watch, { sinceSequence: from }, 2);
    await watch.next();
    const id = (await create("follow", {}, 0)).resource?.id ?? "";
    await ops.call(RESOURCES_SERVICE.Start, { id }, 1);
    const last = await lastSequence(1);
    const records: Record[] = [];
    while (records[records.length - 1]?.sequence !== last)
      records.push(...(await watch.next()).records);
    watch.cancel();
    expect(records.map((r) => r.sequence)).toEqual(
      Array.from({ length: last - from + 1 }, (_, i) => from + i),
    );
    expect(records.slice(-2).map((r) => r.action)).toEqual(["resource.create", "resource.start"]);
    const filtered = ops.stream(
      OPLOG_SERVICE.Watch,
      { sinceSequence: from, filter: { resourceId: id } },
      0,
    );
    await filtered.next();
    const mine = (await filtered.next()).records;
    filtered.cancel();
    expect(mine.map((r) => r.action)).toEqual(["resource.create", "resource.start"]);
  });

  it("ends a watch once its session is logged out", async () => {
    const watcher = await signUp(channels, "short-lived", { member: 2 });
    const watch = watcher.stream(OPLOG_SERVICE.Watch, {}, 0);
    await watch.next();
    await create("before-logout", {}, 1);
    expect((await watch.next()).records?.[0]?.action).toBe("resource.create");
    await watcher.call(USERS_SERVICE.Logout, {}, 1);
    // The logout's own record is the next response, and the session is gone by then.
    await expectStatus(watch.next(), status.UNAUTHENTICATED, /logged out/);
  });

  it("refuses watches it cannot serve", async () => {
    const bad = ops.stream(
      OPLOG_SERVICE.Watch,
      { filter: { resourceId: "a", target: "user/b" } },
      0,
    );
    await expectStatus(bad.next(), status.INVALID_ARGUMENT, /shortcut for target/);
    const viewer = await signUp(channels, "viewer-1", { member: 1 });
    expect((await viewer.stream(OPLOG_SERVICE.Watch, {}, 1).next()).records).toEqual([]);
    const anonymous = new (await import("./platform-helpers.js")).Session(
      channels,
      "nobody",
      "bogus",
    );
    await expectStatus(anonymous.stream(OPLOG_SERVICE.Watch, {}, 2).next(), status.UNAUTHENTICATED);
  });
});
