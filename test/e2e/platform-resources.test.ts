// cairn.v1.Resources on a real 3-member cluster over raw gRPC: the lifecycle
// through different members, ABORTED on a stale version naming both versions,
// FAILED_PRECONDITION naming the current status, bad input refused whole,
// filtered/sorted/paginated listing that stays consistent while another
// client writes, and stats.
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cairn } from "../../src/gen/cairn.js";
import { RESOURCES_SERVICE } from "../../src/server/platform/resources.js";
import { TestCluster } from "./harness.js";
import { Channels, expectStatus, type Session, serverSpec, signUp } from "./platform-helpers.js";

const S = cairn.v1.ResourceStatus;
const { RESOURCE_KIND_DATABASE, RESOURCE_KIND_SERVER } = cairn.v1.ResourceKind;

describe("cairn.v1 Resources on a 3-member cluster", { timeout: 40_000 }, () => {
  let cluster: TestCluster;
  let channels: Channels;
  let ops: Session;
  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3 });
    await cluster.waitForLeader(10_000);
    channels = new Channels(cluster);
    ops = await signUp(channels, "root"); // the first user: admin, so it may write too
  });
  afterAll(async () => {
    channels?.close();
    await cluster?.stop();
  });

  const create = (
    name: string,
    extra: Partial<cairn.v1.CreateResourceRequest.$Properties> = {},
    member = 0,
  ) =>
    ops.call(
      RESOURCES_SERVICE.Create,
      { name, region: "eu-west", server: serverSpec(), ...extra },
      member,
    );

  it("runs the lifecycle through different members", async () => {
    const created = (await create("app-1", { labels: { env: "prod" } }, 0)).resource;
    const id = created?.id ?? "";
    expect(id).toMatch(/^srv-\d+$/);
    expect(created?.status).toBe(S.RESOURCE_STATUS_PROVISIONING);
    expect(created?.version).toBe(1);
    const started = await ops.call(RESOURCES_SERVICE.Start, { id }, 1);
    expect(started.resource?.status).toBe(S.RESOURCE_STATUS_RUNNING);
    const installed = await ops.call(
      RESOURCES_SERVICE.InstallSoftware,
      { id, name: "nginx", version: "1.27.0" },
      2,
    );
    expect(installed.resource?.installedSoftware?.map((s) => s.name)).toEqual(["nginx"]);
    await ops.call(RESOURCES_SERVICE.Restart, { id }, 0);
    const stopped = await ops.call(RESOURCES_SERVICE.Stop, { id }, 1);
    expect(stopped.resource).toMatchObject({ status: S.RESOURCE_STATUS_STOPPED, version: 5 });
    await expectStatus(
      ops.call(RESOURCES_SERVICE.Stop, { id }, 2),
      status.FAILED_PRECONDITION,
      new RegExp(`cannot stop resource ${id}: it is STOPPED`),
    );
    await expectStatus(
      ops.call(RESOURCES_SERVICE.InstallSoftware, { id, name: "redis", version: "7" }, 0),
      status.FAILED_PRECONDITION,
      /it is STOPPED; install needs RUNNING/,
    );
    const failed = await ops.call(RESOURCES_SERVICE.ReportError, { id, reason: "disk full" }, 2);
    expect(failed.resource).toMatchObject({
      status: S.RESOURCE_STATUS_ERROR,
      statusMessage: "disk full",
    });
    await ops.call(RESOURCES_SERVICE.Delete, { id }, 0);
    await expectStatus(
      ops.call(RESOURCES_SERVICE.Start, { id }, 1),
      status.FAILED_PRECONDITION,
      /it is DELETED/,
    );
    const read = await ops.call(RESOURCES_SERVICE.Get, { id }, 2);
    expect(read.resource).toMatchObject({ status: S.RESOURCE_STATUS_DELETED, version: 7 });
  });

  it("refuses a stale expected version with ABORTED naming both versions", async () => {
    const id = (await create("app-2")).resource?.id ?? "";
    await ops.call(RESOURCES_SERVICE.Update, { id, expectedVersion: 1, category: "web" }, 1);
    await expectStatus(
      ops.call(RESOURCES_SERVICE.Update, { id, expectedVersion: 1, category: "api" }, 2),
      status.ABORTED,
      new RegExp(`resource ${id} is at version 2, request expected version 1`),
    );
    await expectStatus(
      ops.call(RESOURCES_SERVICE.Update, { id, category: "api" }, 0),
      status.INVALID_ARGUMENT,
      /needs expected_version or fence/,
    );
    const read = await ops.call(RESOURCES_SERVICE.Get, { id }, 0);
    expect(read.resource).toMatchObject({ category: "web", version: 2 });
  });

  it("refuses bad input whole, naming the field and what is allowed", async () => {
    const before = await ops.call(RESOURCES_SERVICE.Stats, {});
    await expectStatus(
      create("bad-1", { server: serverSpec({ cpu: 0 }) }),
      status.INVALID_ARGUMENT,
      /^resource\.spec\.cpu must be 1\.\.512, got 0$/,
    );
    await expectStatus(
      ops.call(RESOURCES_SERVICE.Create, { name: "bad-2", region: "eu-west" }),
      status.INVALID_ARGUMENT,
      /resource\.spec must be a server or a database spec/,
    );
    await expectStatus(
      create("bad-3", { labels: { "Bad Key": "x" } }, 1),
      status.INVALID_ARGUMENT,
      /resource\.labels key/,
    );
    await expectStatus(
      ops.call(RESOURCES_SERVICE.List, { filter: { kind: 9 } }),
      status.INVALID_ARGUMENT,
      /filter\.kind must be one of RESOURCE_KIND_SERVER\|RESOURCE_KIND_DATABASE, got 9/,
    );
    await expectStatus(ops.call(RESOURCES_SERVICE.Get, { id: "srv-999999" }), status.NOT_FOUND);
    expect((await ops.call(RESOURCES_SERVICE.Stats, {})).total).toBe(before.total);
  });

  it("filters, sorts and pages consistently while another client writes", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 24; i++) {
      const labels = { env: i % 2 === 0 ? "prod" : "dev", tier: i % 3 === 0 ? "db" : "web" };
      ids.push(
        (await create(`Fleet-${String(i).padStart(2, "0")}`, { labels }, i)).resource?.id ?? "",
      );
    }
    const filter = { labelSelector: "env=prod,tier!=db", nameContains: "fleet" };
    const query = {
      filter,
      sortBy: cairn.v1.ResourceSortField.RESOURCE_SORT_FIELD_NAME,
      order: cairn.v1.SortOrder.SORT_ORDER_DESCENDING,
    };
    const whole = await ops.call(RESOURCES_SERVICE.List, { ...query, pageSize: 500 });
    const expected = whole.resources.map((r) => r.name);
    expect(expected).toEqual([
      "Fleet-22",
      "Fleet-20",
      "Fleet-16",
      "Fleet-14",
      "Fleet-10",
      "Fleet-08",
      "Fleet-04",
      "Fleet-02",
    ]);
    const first = await ops.call(RESOURCES_SERVICE.List, { ...query, pageSize: 3 }, 1);
    // Another client renames, creates and stops matching resources between pages.
    let writes = 0;
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const id = ids[(i * 2) % ids.length] as string;
        const current = (await ops.call(RESOURCES_SERVICE.Get, { id }, i)).resource;
        await ops.call(
          RESOURCES_SERVICE.Update,
          { id, expectedVersion: current?.version ?? 0, name: `Fleet-zz-${i}` },
          i + 1,
        );
        await create(`Fleet-new-${i}`, { labels: { env: "prod" } }, i + 2);
        writes++;
      }
    })();
    const names = first.resources.map((r) => r.name);
    let pageToken = first.nextPageToken;
    while (pageToken !== "") {
      while (writes < names.length / 3) await new Promise((resolve) => setTimeout(resolve, 20));
      const page = await ops.call(
        RESOURCES_SERVICE.List,
        { ...query, pageSize: 3, pageToken },
        names.length,
      );
      expect(page.readRevision).toBe(first.readRevision);
      for (const resource of page.resources)
        expect(resource.modRevision).toBeLessThanOrEqual(first.readRevision);
      names.push(...page.resources.map((r) => r.name));
      pageToken = page.nextPageToken;
    }
    writing = false;
    await writer;
    expect(writes).toBeGreaterThan(0);
    expect(names).toEqual(expected);
    // A fresh listing sees the writes; a serializable one answers from local state.
    const fresh = await ops.call(RESOURCES_SERVICE.List, { ...query, pageSize: 500 }, 2);
    expect(fresh.resources.some((r) => r.name?.startsWith("Fleet-new-"))).toBe(true);
    const local = await ops.call(
      RESOURCES_SERVICE.List,
      { ...query, pageSize: 500, serializable: true },
      2,
    );
    expect(local.resources.length).toBeGreaterThan(0);
    await expectStatus(
      ops.call(RESOURCES_SERVICE.List, { ...query, pageSize: 501 }),
      status.INVALID_ARGUMENT,
      /page_size must be 1\.\.500, got 501/,
    );
    await expectStatus(
      ops.call(RESOURCES_SERVICE.List, {
        filter: { region: "x" },
        pageSize: 3,
        pageToken: first.nextPageToken,
      }),
      status.INVALID_ARGUMENT,
      /different filter or sort/,
    );
  });

  it("counts resources for analysis", async () => {
    await ops.call(RESOURCES_SERVICE.Create, {
      name: "orders-db",
      region: "us-east",
      database: {
        engine: cairn.v1.DatabaseEngine.DATABASE_ENGINE_POSTGRESQL,
        version: "16",
        cpu: 4,
        memoryMib: 8192,
        diskGib: 100,
        replicas: 2,
      },
    });
    const all = await ops.call(RESOURCES_SERVICE.Stats, {}, 1);
    const list = await ops.call(RESOURCES_SERVICE.List, { pageSize: 500, filter: {} }, 1);
    const deleted = all.byStatus.DELETED ?? 0;
    expect(all.total).toBe(list.resources.length + deleted);
    expect(all.byKind).toMatchObject({ database: 1 });
    expect(all.byRegion["us-east"]).toBe(1);
    const cpu = list.resources.reduce((sum, r) => sum + (r.server?.cpu ?? r.database?.cpu ?? 0), 0);
    expect(all.cpuTotal).toBe(cpu);
    const databases = await ops.call(
      RESOURCES_SERVICE.Stats,
      { filter: { kind: RESOURCE_KIND_DATABASE } },
      2,
    );
    expect(databases).toMatchObject({
      total: 1,
      cpuTotal: 4,
      memoryMibTotal: 8192,
      diskGibTotal: 100,
    });
    const servers = await ops.call(
      RESOURCES_SERVICE.Stats,
      { filter: { kind: RESOURCE_KIND_SERVER } },
      0,
    );
    expect(servers.total + databases.total).toBe(all.total);
  });
});
