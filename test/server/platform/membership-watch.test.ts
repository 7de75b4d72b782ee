// Membership.Watch as a stream body: the first response carries the members
// it starts from, each applied change arrives with the members right after it,
// and a reader that stops reading ends its stream once the bounded queue is
// full, instead of the member buffering changes without end.
import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { cairn } from "../../../src/gen/cairn.js";
import { toServiceError } from "../../../src/server/errors.js";
import {
  MEMBERSHIP_RESPONSES_QUEUED_MAX,
  MembershipHandlers,
} from "../../../src/server/platform/membership.js";
import type { StreamContext } from "../../../src/server/platform/platform-stream.js";
import {
  contextFor,
  FakePlatformNode,
  platformDeps,
  seedUser,
  type TestDeps,
} from "./fake-node.js";

type Response = cairn.v1.WatchMembershipResponse.$Properties;

async function streamContext(
  deps: TestDeps,
  token: string,
  reader: "reads" | "stalls",
): Promise<{ context: StreamContext<Response>; sent: Response[] }> {
  const controller = new AbortController();
  const { caller } = await contextFor(deps, token, controller.signal);
  const sent: Response[] = [];
  const write = (response: Response): Promise<void> => {
    sent.push(response);
    if (reader === "reads") return Promise.resolve();
    return new Promise((_resolve, reject) =>
      controller.signal.addEventListener("abort", () => reject(controller.signal.reason)),
    );
  };
  return {
    context: { caller, signal: controller.signal, write, fail: (e) => controller.abort(e) },
    sent,
  };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("Membership.Watch", () => {
  const join = (memberId: string, weight = 1) =>
    cairn.v1.JoinRequest.create({
      group: "web",
      memberId,
      address: "10.0.0.1:80",
      weight,
      ttlSeconds: 30,
    });

  it("sends the starting members, then each change with the members after it", async () => {
    const node = new FakePlatformNode();
    const deps = platformDeps(node);
    const handlers = new MembershipHandlers(deps);
    const token = await seedUser(node, "alice", []);
    const alice = await contextFor(deps, token);
    await handlers.join(join("a"), alice);
    const { context, sent } = await streamContext(deps, token, "reads");
    const watching = handlers.watch(
      cairn.v1.WatchMembershipRequest.create({ group: "web" }),
      context,
    );
    await settle();
    await handlers.join(join("b"), alice);
    await handlers.join(join("b", 5), alice);
    await handlers.leave(cairn.v1.LeaveRequest.create({ group: "web", memberId: "a" }), alice);
    await settle();
    expect(sent.map((r) => r.members?.map((m) => `${m.memberId}:${m.weight}`))).toEqual([
      ["a:1"],
      ["a:1", "b:1"],
      ["a:1", "b:5"],
      ["b:5"],
    ]);
    expect(sent.slice(1).map((r) => r.changes?.map((c) => c.type))).toEqual([[1], [2], [3]]);
    context.fail(new Error("client left"));
    await expect(watching).rejects.toThrow("client left");
    expect(deps.feed.listenerCount).toBe(0); // the watch stopped listening
  });

  it(`ends a stalled reader's stream past ${MEMBERSHIP_RESPONSES_QUEUED_MAX} queued changes`, async () => {
    const node = new FakePlatformNode();
    const deps = platformDeps(node);
    const handlers = new MembershipHandlers(deps);
    const token = await seedUser(node, "alice", []);
    const alice = await contextFor(deps, token);
    const { context } = await streamContext(deps, token, "stalls");
    const watching = handlers.watch(
      cairn.v1.WatchMembershipRequest.create({ group: "web" }),
      context,
    );
    const outcome = watching.then(
      () => null,
      (error: unknown) => toServiceError(error),
    );
    await settle();
    for (let i = 0; i <= MEMBERSHIP_RESPONSES_QUEUED_MAX; i++) {
      await handlers.join(join("a", 1 + (i % 7)), alice);
    }
    expect(await outcome).toMatchObject({
      code: status.UNAVAILABLE,
      details: `membership watch of web fell ${MEMBERSHIP_RESPONSES_QUEUED_MAX} changes behind; watch again and List to resync`,
    });
  });
});
