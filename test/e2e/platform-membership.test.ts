// cairn.v1.Membership on a real 3-member cluster over raw gRPC: Locate gives
// the same owners on every member, and the same as the client-side rendezvous
// function over List; join, update and leave reach a watcher on another member
// with the keys-moved summary; a member whose lease expires leaves by itself.
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cairn } from "../../src/gen/cairn.js";
import { MEMBERSHIP_SERVICE } from "../../src/server/platform/membership.js";
import { locate, movedFraction, type RendezvousMember } from "../../src/state/index.js";
import { TestCluster } from "./harness.js";
import { Channels, expectStatus, type Session, signUp } from "./platform-helpers.js";

const { TYPE_JOIN, TYPE_UPDATE, TYPE_LEAVE } = cairn.v1.MembershipChange.Type;
const KEYS = Array.from({ length: 40 }, (_, i) => `tenant-${i}`);

describe("cairn.v1 Membership on a 3-member cluster", { timeout: 40_000 }, () => {
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

  const join = (group: string, memberId: string, weight: number, member: number, ttlSeconds = 30) =>
    ops.call(
      MEMBERSHIP_SERVICE.Join,
      { group, memberId, address: `10.0.0.${member}:8080`, weight, ttlSeconds },
      member,
    );

  const placement = async (group: string): Promise<RendezvousMember[]> =>
    ((await ops.call(MEMBERSHIP_SERVICE.List, { group })).members ?? []).map((m) => ({
      id: m.memberId ?? "",
      weight: m.weight ?? 0,
    }));

  it("locates keys alike on every member and as the client-side function does", async () => {
    for (const [i, weight] of [1, 1, 2, 1].entries()) await join("cache", `c${i}`, weight, i);
    const members = await placement("cache");
    expect(members.map((m) => m.id)).toEqual(["c0", "c1", "c2", "c3"]);
    for (const key of KEYS) {
      const answers = await Promise.all(
        [0, 1, 2].map((member) =>
          ops.call(MEMBERSHIP_SERVICE.Locate, { group: "cache", key, replicas: 2 }, member),
        ),
      );
      const owners = answers.map((a) => (a.owners ?? []).map((o) => o.memberId));
      expect(owners[1]).toEqual(owners[0]);
      expect(owners[2]).toEqual(owners[0]);
      expect(owners[0]).toEqual(locate(members, key, 2));
    }
    await expectStatus(
      ops.call(MEMBERSHIP_SERVICE.Locate, { group: "nobody-here", key: "k" }),
      status.NOT_FOUND,
      /group nobody-here has no members/,
    );
    await expectStatus(
      ops.call(MEMBERSHIP_SERVICE.Locate, { group: "cache", key: "k", replicas: 17 }),
      status.INVALID_ARGUMENT,
      /locate\.replicas must be 1\.\.16, got 17/,
    );
  });

  it("streams join, update and leave with the keys-moved summary", async () => {
    await join("web", "w0", 1, 0);
    await join("web", "w1", 1, 1);
    const watch = ops.stream(MEMBERSHIP_SERVICE.Watch, { group: "web" }, 2);
    const start = await watch.next();
    expect(start.members.map((m) => m.memberId)).toEqual(["w0", "w1"]);
    const steps: Array<[() => Promise<unknown>, number, string]> = [
      [() => join("web", "w2", 1, 0), TYPE_JOIN, "w2"],
      [() => join("web", "w2", 3, 1), TYPE_UPDATE, "w2"],
      [
        () => ops.call(MEMBERSHIP_SERVICE.Leave, { group: "web", memberId: "w0" }, 2),
        TYPE_LEAVE,
        "w0",
      ],
    ];
    for (const [step, type, memberId] of steps) {
      const before = await placement("web");
      await step();
      const after = await placement("web");
      const response = await watch.next();
      expect(response.changes).toHaveLength(1);
      const change = response.changes[0];
      expect(change).toMatchObject({ group: "web", type, memberId });
      expect(change?.membersBefore).toBe(before.length);
      expect(change?.membersAfter).toBe(after.length);
      expect(change?.movedFraction).toBeCloseTo(movedFraction(before, after), 10);
      expect(change?.movedFraction).toBeGreaterThan(0);
      expect(response.members.map((m) => [m.memberId, m.weight])).toEqual(
        after.map((m) => [m.id, m.weight]),
      );
      expect(change?.revision).toBe(response.header?.revision);
    }
    watch.cancel();
  });

  it("drops a member whose lease expires, and tells the watcher", async () => {
    await join("batch", "keeper", 1, 0);
    const watch = ops.stream(MEMBERSHIP_SERVICE.Watch, { group: "batch" }, 1);
    await watch.next();
    // ttl 1 s is raised to the lease minimum (2 s at the default election timeout); nobody renews it.
    const joined = await join("batch", "ephemeral", 1, 2, 1);
    expect(joined.change?.type).toBe(TYPE_JOIN);
    expect((await watch.next()).changes[0]?.type).toBe(TYPE_JOIN);
    const left = await watch.next(15_000);
    expect(left.changes[0]).toMatchObject({ type: TYPE_LEAVE, memberId: "ephemeral" });
    expect(left.members.map((m) => m.memberId)).toEqual(["keeper"]);
    watch.cancel();
  });

  it("refuses bad joins and viewers' writes", async () => {
    await expectStatus(
      ops.call(MEMBERSHIP_SERVICE.Join, {
        group: "g",
        memberId: "m",
        address: "a:1",
        weight: 5000,
      }),
      status.INVALID_ARGUMENT,
      /member\.weight must be 1\.\.1000, got 5000/,
    );
    await expectStatus(
      ops.call(MEMBERSHIP_SERVICE.Join, {
        group: "g",
        memberId: "m",
        address: "a:1",
        leaseId: 12345,
      }),
      status.NOT_FOUND,
      /lease 12345 not found/,
    );
    const viewer = await signUp(channels, "reader", { member: 1 });
    await expectStatus(
      viewer.call(MEMBERSHIP_SERVICE.Join, { group: "g", memberId: "m", address: "a:1" }),
      status.PERMISSION_DENIED,
    );
    expect(
      (await viewer.call(MEMBERSHIP_SERVICE.List, { group: "cache" }, 2)).members,
    ).toHaveLength(4);
  });
});
