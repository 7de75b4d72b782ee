// Resources.Watch from a store revision (start_revision): the changes at and
// after it are replayed, a revision not reached yet waits for it, it cannot be
// combined with since_sequence, and a revision whose records retention may
// have dropped is refused as a dropped since_sequence is.
import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { cairn } from "../../../src/gen/cairn.js";
import { toServiceError } from "../../../src/server/errors.js";
import type { StreamContext } from "../../../src/server/platform/platform-stream.js";
import { watchResources } from "../../../src/server/platform/resource-watch.js";
import { ResourceHandlers } from "../../../src/server/platform/resources.js";
import {
  contextFor,
  FakePlatformNode,
  platformDeps,
  seedUser,
  type TestDeps,
} from "./fake-node.js";

type WatchResponse = cairn.v1.WatchResourcesResponse.$Properties;

const { RESOURCE_STATUS_PROVISIONING: PROVISIONING, RESOURCE_STATUS_RUNNING: RUNNING } =
  cairn.v1.ResourceStatus;

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const SERVER = {
  image: "ubuntu:24.04",
  cpu: 2,
  memoryMib: 2048,
  diskGib: 20,
  bandwidthMbps: 100,
  hostname: "web.example.com",
};

interface Running {
  readonly events: cairn.v1.ResourceEvent.$Properties[];
  readonly done: Promise<unknown>;
  stop(): Promise<void>;
}

async function setUp(): Promise<{
  node: FakePlatformNode;
  deps: TestDeps;
  token: string;
  handlers: ResourceHandlers;
}> {
  const node = new FakePlatformNode();
  const deps = platformDeps(node);
  const token = await seedUser(node, "alice", []);
  return { node, deps, token, handlers: new ResourceHandlers(deps) };
}

/** Starts a watch; its events collect in `events` until stop(). */
async function watch(
  deps: TestDeps,
  token: string,
  request: cairn.v1.WatchResourcesRequest.$Properties,
): Promise<Running> {
  const controller = new AbortController();
  const { caller } = await contextFor(deps, token);
  const events: cairn.v1.ResourceEvent.$Properties[] = [];
  const context: StreamContext<WatchResponse> = {
    caller,
    signal: controller.signal,
    write: async (response) => {
      events.push(...(response.events ?? []));
    },
    fail: () => undefined,
  };
  const done = watchResources(deps, cairn.v1.WatchResourcesRequest.create(request), context).then(
    () => null,
    (error: unknown) => error,
  );
  return {
    events,
    done,
    stop: async () => {
      controller.abort(new Error("stopped"));
      await done;
    },
  };
}

async function refusal(deps: TestDeps, token: string, request: object) {
  const running = await watch(deps, token, request);
  return toServiceError((await running.done) as Error);
}

describe("Resources.Watch from a revision", () => {
  it("replays the changes at and after start_revision, then follows new ones", async () => {
    const { deps, token, handlers } = await setUp();
    const context = await contextFor(deps, token);
    const create = (name: string) =>
      handlers.create(
        cairn.v1.CreateResourceRequest.create({ name, region: "eu-west", server: SERVER }),
        context,
      );
    const first = await create("web-1");
    const id = first.resource?.id ?? "";
    const started = await handlers.lifecycle(
      "start",
      cairn.v1.ResourceActionRequest.create({ id }),
      context,
    );
    const from = Number(started.header?.revision);
    expect(from).toBeGreaterThan(Number(first.header?.revision));
    await create("web-2");

    const running = await watch(deps, token, { startRevision: from });
    await settle();
    expect(running.events.map((e) => [e.type, e.resource?.name, e.resource?.status])).toEqual([
      [cairn.v1.ResourceEvent.Type.TYPE_UPDATED, "web-1", RUNNING],
      [cairn.v1.ResourceEvent.Type.TYPE_CREATED, "web-2", PROVISIONING],
    ]);
    expect(running.events[0]?.revision).toBe(from);
    await handlers.lifecycle("stop", cairn.v1.ResourceActionRequest.create({ id }), context);
    await settle();
    expect(running.events.map((e) => e.resource?.name)).toEqual(["web-1", "web-2", "web-1"]);
    expect(running.events[2]?.prev?.status).toBe(running.events[0]?.resource?.status);
    await running.stop();
  });

  it("waits for a revision not reached yet", async () => {
    const { node, deps, token, handlers } = await setUp();
    const context = await contextFor(deps, token);
    const create = (name: string) =>
      handlers.create(
        cairn.v1.CreateResourceRequest.create({ name, region: "eu-west", server: SERVER }),
        context,
      );
    const running = await watch(deps, token, { startRevision: node.stateMachine.kv.revision + 2 });
    await create("early");
    await create("on-time");
    await create("late");
    await settle();
    expect(running.events.map((e) => e.resource?.name)).toEqual(["on-time", "late"]);
    await running.stop();
  });

  it("refuses since_sequence with start_revision, and negative revisions", async () => {
    const { deps, token } = await setUp();
    const both = await refusal(deps, token, { sinceSequence: 1, startRevision: 1 });
    expect(both.code).toBe(status.INVALID_ARGUMENT);
    expect(both.details).toMatch(/since_sequence .*start_revision/);
    expect(both.details).toContain("not both");
    const negative = await refusal(deps, token, { startRevision: -3 });
    expect(negative.code).toBe(status.INVALID_ARGUMENT);
    expect(negative.details).toContain("start_revision");
  });

  it("refuses a revision whose records retention may have dropped, as since_sequence does", async () => {
    const { node, deps, token, handlers } = await setUp();
    const context = await contextFor(deps, token);
    const create = (name: string) =>
      handlers.create(
        cairn.v1.CreateResourceRequest.create({ name, region: "eu-west", server: SERVER }),
        context,
      );
    await create("old");
    const retention = await node.propose({
      kind: "oplog-retention",
      actor: "alice",
      maxRecords: 100,
      maxAgeMs: 60_000,
    });
    expect(retention.kind).toBe("oplog-retention");
    node.nowMs += 120_000;
    const kept = await create("new"); // its apply drops every older record
    const keptRevision = Number(kept.header?.revision);
    expect(node.stateMachine.platform.oplog.firstSequence).toBeGreaterThan(1);

    const bySequence = await refusal(deps, token, { sinceSequence: 1 });
    const byRevision = await refusal(deps, token, { startRevision: 1 });
    expect(bySequence.code).toBe(status.FAILED_PRECONDITION);
    expect(byRevision.code).toBe(status.FAILED_PRECONDITION);
    expect(byRevision.details).toContain(
      `the oldest revision a watch can start from is ${keptRevision + 1}`,
    );
    // The kept record's own revision may have lost siblings: refused too.
    expect((await refusal(deps, token, { startRevision: keptRevision })).code).toBe(
      status.FAILED_PRECONDITION,
    );
    const fromFloor = await watch(deps, token, { startRevision: keptRevision + 1 });
    await create("newer");
    await settle();
    expect(fromFloor.events.map((e) => e.resource?.name)).toEqual(["newer"]);
    await fromFloor.stop();
  });
});
