import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { Message } from "../../src/raft/types.js";
import { ListenError } from "../../src/transport/errors.js";
import { PeerTransport } from "../../src/transport/peer-transport.js";
import {
  CLUSTER_ID,
  freePort,
  message,
  startCluster,
  startNode,
  stopAll,
  type TestNode,
  tagged,
  tags,
  waitFor,
} from "./helpers.js";

const nodes: TestNode[] = [];

async function cluster(ids: number[], options = {}): Promise<TestNode[]> {
  const started = await startCluster(ids, options);
  nodes.push(...started);
  return started;
}

afterEach(async () => {
  await stopAll(nodes.splice(0));
});

function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

describe("PeerTransport", () => {
  it("exchanges messages with binary entries between two nodes, both ways", async () => {
    const [a, b] = (await cluster([1, 2])) as [TestNode, TestNode];
    const append: Message = message("MsgApp", 1, 2, {
      term: 3,
      logTerm: 2,
      index: 41,
      commit: 40,
      entries: [
        { term: 3, index: 42, kind: "normal", data: bytes(0, 255, 1, 254, 0) },
        { term: 3, index: 43, kind: "conf-change", data: new Uint8Array(0) },
      ],
      context: bytes(9, 9),
    });
    const reply: Message = message("MsgAppResp", 2, 1, {
      term: 3,
      index: 43,
      reject: true,
      rejectHint: 7,
    });

    a.transport.send([append]);
    b.transport.send([reply]);

    await waitFor(() => a.received().length === 1 && b.received().length === 1, "both messages");
    expect(b.received()).toEqual([append]);
    expect(a.received()).toEqual([reply]);
  });

  it("routes one send() to each peer as one batch, preserving order within a peer", async () => {
    const [a, b, c] = (await cluster([1, 2, 3])) as [TestNode, TestNode, TestNode];

    a.transport.send([
      tagged(1, 2, 1),
      tagged(1, 3, 2),
      tagged(1, 2, 3),
      tagged(1, 3, 4),
      tagged(1, 2, 5),
    ]);

    await waitFor(() => b.received().length === 3 && c.received().length === 2, "routed messages");
    expect(b.batches.map(tags)).toEqual([[1, 3, 5]]);
    expect(c.batches.map(tags)).toEqual([[2, 4]]);
    expect(a.received()).toEqual([]);
  });

  it("keeps per-peer order across many sends issued in one tick (through backpressure)", async () => {
    const [a, b] = (await cluster([1, 2])) as [TestNode, TestNode];
    await waitFor(() => a.transport.peerStats().get(2)?.connected === true, "link up");
    const payload = new Uint8Array(16 * 1024).fill(7);
    const count = 400;

    for (let i = 0; i < count; i++) {
      a.transport.send([
        message("MsgApp", 1, 2, {
          commit: i,
          entries: [{ term: 1, index: i + 1, kind: "normal", data: payload }],
        }),
      ]);
    }

    await waitFor(() => b.received().length === count, `${count} messages`);
    expect(tags(b.received())).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(b.batches).toHaveLength(count);
    expect(a.transport.peerStats().get(2)?.messagesDropped).toBe(0);
  });

  it("reaches a peer that starts late, logging down and up once each", async () => {
    const lateAddress = `127.0.0.1:${await freePort()}`;
    const a = await startNode(1, { peers: new Map([[2, lateAddress]]) });
    nodes.push(a);
    a.transport.send([tagged(1, 2, 1)]);
    await waitFor(() => a.logs.some((l) => l.msg === "peer down"), "peer down");
    await new Promise((resolve) => setTimeout(resolve, 300)); // several failed retries
    expect(a.transport.peerStats().get(2)?.connected).toBe(false);

    const b = await startNode(2, { listenAddress: lateAddress, peers: new Map([[1, a.address]]) });
    nodes.push(b);

    await waitFor(() => b.received().length === 1, "queued message after reconnect");
    a.transport.send([tagged(1, 2, 2)]);
    await waitFor(() => b.received().length === 2, "message on the new stream");
    expect(tags(b.received())).toEqual([1, 2]);
    expect(a.logs.filter((l) => l.msg === "peer down")).toHaveLength(1);
    expect(a.logs.filter((l) => l.msg === "peer up")).toHaveLength(1);
    expect(a.logs.find((l) => l.msg === "peer down")?.obj).toMatchObject({ peer: 2 });
    expect(a.unreachable).toContain(2);
  });

  it("reconnects to a peer that was stopped and restarted on the same port", async () => {
    const [a, b] = (await cluster([1, 2])) as [TestNode, TestNode];
    a.transport.send([tagged(1, 2, 1)]);
    await waitFor(() => b.received().length === 1, "first message");

    await b.transport.stop();
    await waitFor(() => a.transport.peerStats().get(2)?.connected === false, "link down");
    const restarted = await startNode(2, {
      listenAddress: b.address,
      peers: new Map([[1, a.address]]),
    });
    nodes.push(restarted);

    await waitFor(() => a.transport.peerStats().get(2)?.connected === true, "link up again");
    a.transport.send([tagged(1, 2, 2)]);
    restarted.transport.send([tagged(2, 1, 3)]);
    await waitFor(
      () => restarted.received().length === 1 && a.received().length === 1,
      "both ways",
    );
    expect(tags(restarted.received())).toEqual([2]);
    expect(tags(a.received())).toEqual([3]);
    const downs = a.logs.filter((l) => l.msg === "peer down");
    expect(downs).toHaveLength(1);
    expect(a.logs.filter((l) => l.msg === "peer up")).toHaveLength(2);
  });

  it("reports contact, round trip and byte counts per peer", async () => {
    const [a, b] = (await cluster([1, 2])) as [TestNode, TestNode];
    const before = Date.now();
    a.transport.send([tagged(1, 2, 1)]);
    b.transport.send([tagged(2, 1, 2)]);

    await waitFor(() => a.transport.peerStats().get(2)?.roundTripMs != null, "a ping round trip");
    await waitFor(() => a.received().length === 1 && b.received().length === 1, "both messages");
    // Each side got exactly the other's message, intact.
    expect(b.received()).toEqual([tagged(1, 2, 1)]);
    expect(a.received()).toEqual([tagged(2, 1, 2)]);
    const stats = a.transport.peerStats().get(2);
    expect(stats?.connected).toBe(true);
    expect(Number.isFinite(stats?.roundTripMs)).toBe(true);
    expect(stats?.roundTripMs).toBeGreaterThanOrEqual(0);
    expect(stats?.lastContactMs).toBeGreaterThanOrEqual(before);
    expect(stats?.bytesSent).toBeGreaterThan(0);
    expect(stats?.bytesReceived).toBeGreaterThan(0);
    expect(stats?.messagesDropped).toBe(0);
    expect([...a.transport.peerStats().keys()]).toEqual([2]);
  });

  it("bounds the queue for an unreachable peer: drops, counts and reports", async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const a = await startNode(1, { peers: new Map([[2, dead]]), maxQueuedMessagesPerPeer: 10 });
    nodes.push(a);
    const four = (base: number) => [0, 1, 2, 3].map((i) => tagged(1, 2, base + i));

    a.transport.send(four(0));
    a.transport.send(four(4));
    a.transport.send(four(8)); // 12 > 10: this whole batch is dropped

    expect(a.transport.peerStats().get(2)?.messagesDropped).toBe(4);
    expect(a.unreachable).toContain(2);
    expect(a.logs.filter((l) => l.msg === "peer queue full, dropping messages")).toHaveLength(1);
  });

  it("drops messages for an unknown peer and reports it unreachable", async () => {
    const [a] = (await cluster([1])) as [TestNode];
    a.transport.send([tagged(1, 9, 1)]);
    a.transport.send([tagged(1, 9, 2)]);
    expect(a.unreachable).toEqual([9, 9]);
    expect(a.logs.filter((l) => l.msg.includes("no known address"))).toHaveLength(1);
  });

  it("follows removePeer and addPeer, including a peer moving to a new address", async () => {
    const [a, b, c] = (await cluster([1, 2, 3])) as [TestNode, TestNode, TestNode];
    a.transport.removePeer(2);
    expect(a.transport.peerStats().has(2)).toBe(false);
    a.transport.send([tagged(1, 2, 1)]);
    expect(a.unreachable).toEqual([2]);

    a.transport.addPeer(2, b.address);
    a.transport.send([tagged(1, 2, 2)]);
    await waitFor(() => b.received().length === 1, "message after re-adding");
    expect(tags(b.received())).toEqual([2]);

    // Point id 3 at node 2's address: node 2 must refuse messages addressed to 3,
    // and node 3 must get nothing, proving the old stream to 3 was replaced.
    a.transport.addPeer(3, b.address);
    a.transport.send([tagged(1, 3, 3)]);
    await waitFor(() => b.logs.some((l) => l.msg === "rejected peer stream"), "node 2 refusing");
    expect(tags(b.received())).toEqual([2]);
    expect(c.received()).toEqual([]);
  });

  it("refuses programmer errors in send()", async () => {
    const [a] = (await cluster([1])) as [TestNode];
    expect(() => a.transport.send([tagged(2, 3, 1)])).toThrow(/from 2/);
    expect(() => a.transport.send([tagged(1, 1, 1)])).toThrow(/to self/);
    expect(() => a.transport.send([message("MsgHup", 1, 2)])).toThrow(/local-only/);
  });

  it("discards sends after stop() and stops idempotently", async () => {
    const [a, b] = (await cluster([1, 2])) as [TestNode, TestNode];
    await a.transport.stop();
    a.transport.send([tagged(1, 2, 1)]);
    await a.transport.stop();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(b.received()).toEqual([]);
  });

  it("stop() during start() leaves nothing listening", async () => {
    const transport = new PeerTransport({
      selfId: 1,
      clusterId: CLUSTER_ID,
      listenAddress: "127.0.0.1:0",
      peers: new Map(),
      onMessages: () => {},
    });
    const starting = transport.start();
    await transport.stop();
    const { port } = await starting;

    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.on("connect", () => {
        socket.destroy();
        resolve(false);
      });
      socket.on("error", () => resolve(true));
    });
    expect(refused).toBe(true);
  });

  it("fails start() with a ListenError when the port is taken, and can retry", async () => {
    const [a] = (await cluster([1])) as [TestNode];
    const options = { selfId: 2, clusterId: CLUSTER_ID, peers: new Map(), onMessages: () => {} };
    const clash = new PeerTransport({ ...options, listenAddress: a.address });
    const error = await clash.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ListenError);
    expect((error as ListenError).address).toBe(a.address);
    await a.transport.stop();
    await expect(clash.start()).resolves.toEqual({ port: a.port });
    await clash.stop();
  });
});
