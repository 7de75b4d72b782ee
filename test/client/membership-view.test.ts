// The local membership view over a fake transport: List then Watch, newest
// revision wins, locate() equals the pure rendezvous function, and a lost
// watch stream is resumed with a fresh List on another endpoint.
import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { Cairn } from "../../src/client/client.js";
import type { MembershipView } from "../../src/client/membership-view.js";
import { locate } from "../../src/state/platform/rendezvous.js";
import { FakeTransport, grpcError } from "./fake-transport.js";

const LIST = "/cairn.v1.Membership/List";
const WATCH = "/cairn.v1.Membership/Watch";

const wireMember = (id: string, weight: number) => ({
  group: "web",
  memberId: id,
  address: `${id}:80`,
  weight,
  leaseId: 7,
});

async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function setup(listed: ReturnType<typeof wireMember>[], revision = 10) {
  let current = { members: listed, revision };
  const transport = new FakeTransport(["a:1", "b:2"], ({ path }) => {
    if (path === LIST) return { header: { revision: current.revision }, members: current.members };
    throw new Error(`unexpected ${path}`);
  });
  const cairn = new Cairn({
    endpoints: transport.endpoints,
    transport,
    backoff: { baseMs: 1, maxMs: 2 },
  });
  return {
    cairn,
    transport,
    setListed: (members: ReturnType<typeof wireMember>[], rev: number) => {
      current = { members, revision: rev };
    },
  };
}

describe("MembershipView", () => {
  it("locates every key exactly as the pure rendezvous function does", async () => {
    const members = [wireMember("n1", 1), wireMember("n2", 3), wireMember("n3", 2)];
    const { cairn } = setup(members);
    const view = await cairn.membership.view("web");
    const placement = members.map((m) => ({ id: m.memberId, weight: m.weight }));
    for (let i = 0; i < 300; i++) {
      const key = `user-${i}`;
      for (const replicas of [1, 2, 3, 5]) {
        expect(view.locate(key, replicas).map((m) => m.memberId)).toEqual(
          locate(placement, key, replicas),
        );
      }
    }
    view.close();
  });

  it("follows the watch, and ignores an update older than what it holds", async () => {
    const { cairn, transport } = setup([wireMember("n1", 1)], 10);
    const view: MembershipView = await cairn.membership.view("web");
    const seen: number[] = [];
    view.onChange((_members, revision) => seen.push(revision));
    const stream = transport.streams[0];
    expect(stream?.path).toBe(WATCH);
    stream?.push({
      header: { revision: 12 },
      changes: [{ group: "web", revision: 12, type: 1, memberId: "n2" }],
      members: [wireMember("n1", 1), wireMember("n2", 1)],
    });
    await until(() => view.members.length === 2);
    // A change the List already covered (revision 9 < 12) must not roll the view back.
    stream?.push({
      header: { revision: 9 },
      changes: [{ group: "web", revision: 9, type: 3, memberId: "n2" }],
      members: [wireMember("n1", 1)],
    });
    stream?.push({
      header: { revision: 15 },
      changes: [{ group: "web", revision: 15, type: 3, memberId: "n1" }],
      members: [wireMember("n2", 1)],
    });
    await until(() => view.revision === 15);
    expect(view.members.map((m) => m.memberId)).toEqual(["n2"]);
    expect(seen).toEqual([12, 15]);
    expect(view.locate("anything")[0]?.memberId).toBe("n2");
    view.close();
    expect(stream?.cancelled).toBe(true);
  });

  it("resyncs with a List on another endpoint after the watch stream fails", async () => {
    const { cairn, transport, setListed } = setup([wireMember("n1", 1)], 10);
    const view = await cairn.membership.view("web");
    setListed([wireMember("n1", 1), wireMember("n9", 4)], 20);
    transport.streams[0]?.fail(grpcError(status.UNAVAILABLE, "Connection dropped"));
    await until(() => view.revision === 20);
    expect(view.members.map((m) => m.memberId)).toEqual(["n1", "n9"]);
    await until(() => transport.streams.length === 2);
    expect(transport.streams[1]?.endpoint).toBe(1);
    view.close();
  });

  it("offers pickers that follow the group", async () => {
    const { cairn, transport } = setup([wireMember("n1", 1), wireMember("n2", 1)], 10);
    const view = await cairn.membership.view("web");
    const picker = view.picker("round-robin");
    expect([picker.pick()?.memberId, picker.pick()?.memberId]).toEqual(["n1", "n2"]);
    transport.streams[0]?.push({
      header: { revision: 11 },
      changes: [{ group: "web", revision: 11, type: 3, memberId: "n1" }],
      members: [wireMember("n2", 1)],
    });
    await until(() => view.revision === 11);
    expect([picker.pick()?.memberId, picker.pick()?.memberId]).toEqual(["n2", "n2"]);
    const latency = view.picker("least-latency");
    expect(await latency.measure(async (member) => member.memberId)).toBe("n2");
    expect(latency.latencyMs("n2")).toBeGreaterThanOrEqual(0);
    view.close();
  });
});
