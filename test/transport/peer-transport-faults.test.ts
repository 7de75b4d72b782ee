// LinkFaults wired into real transports. "Nothing arrived" is checked with a
// marker: a stream delivers in order, so once a message sent after heal() has
// arrived, an earlier one that was going to be delivered would have been.

import { afterEach, describe, expect, it } from "vitest";
import { startCluster, stopAll, type TestNode, tagged, tags, waitFor } from "./helpers.js";

const nodes: TestNode[] = [];

async function pair(): Promise<[TestNode, TestNode]> {
  const started = (await startCluster([1, 2])) as [TestNode, TestNode];
  nodes.push(...started);
  const [a, b] = started;
  await waitFor(
    () =>
      a.transport.peerStats().get(2)?.connected === true &&
      b.transport.peerStats().get(1)?.connected === true,
    "both links up",
  );
  return started;
}

afterEach(async () => {
  await stopAll(nodes.splice(0));
});

describe("PeerTransport with link faults", () => {
  it("cut out: the peer receives nothing until heal, while the other direction still works", async () => {
    const [a, b] = await pair();
    a.transport.faults.cut(2, "out");

    a.transport.send([tagged(1, 2, 1)]);
    b.transport.send([tagged(2, 1, 100)]);
    await waitFor(() => a.received().length === 1, "reverse direction");
    a.transport.faults.heal();
    a.transport.send([tagged(1, 2, 2)]);

    await waitFor(() => b.received().length >= 1, "marker after heal");
    expect(tags(b.received())).toEqual([2]);
    expect(tags(a.received())).toEqual([100]);
    expect(a.transport.faults.droppedMessages(2, "out")).toBe(1);
  });

  it("cut in: what the peer sends is ignored until heal; our sends still arrive", async () => {
    const [a, b] = await pair();
    a.transport.faults.cut(2, "in");

    b.transport.send([tagged(2, 1, 1)]);
    a.transport.send([tagged(1, 2, 100)]);
    await waitFor(() => b.received().length === 1, "our direction");
    await waitFor(() => a.transport.faults.droppedMessages(2, "in") === 1, "ignored arrival");
    a.transport.faults.heal(2);
    b.transport.send([tagged(2, 1, 2)]);

    await waitFor(() => a.received().length >= 1, "marker after heal");
    expect(tags(a.received())).toEqual([2]);
    expect(tags(b.received())).toEqual([100]);
  });

  it("cut both: pings stop too, so the round trip is not refreshed and contact goes stale", async () => {
    const [a] = await pair();
    await waitFor(() => a.transport.peerStats().get(2)?.roundTripMs != null, "first round trip");
    a.transport.faults.cut(2, "both");
    await new Promise((resolve) => setTimeout(resolve, 150)); // let in-flight acks land
    const contactAtCut = a.transport.peerStats().get(2)?.lastContactMs;

    await new Promise((resolve) => setTimeout(resolve, 300)); // three ping intervals
    expect(a.transport.peerStats().get(2)?.lastContactMs).toBe(contactAtCut);
    a.transport.faults.heal();
    await waitFor(
      () => (a.transport.peerStats().get(2)?.lastContactMs ?? 0) > (contactAtCut ?? 0),
      "contact after heal",
    );
  });

  it("delay holds outgoing messages for the configured time and keeps their order", async () => {
    const [a, b] = await pair();
    a.transport.faults.setDelay(2, 150, "out");
    const sentAt = performance.now();
    let arrivedAt = 0;

    a.transport.send([tagged(1, 2, 1)]);
    a.transport.send([tagged(1, 2, 2)]);
    await waitFor(() => {
      if (b.received().length === 2 && arrivedAt === 0) arrivedAt = performance.now();
      return arrivedAt > 0;
    }, "delayed messages");

    expect(arrivedAt - sentAt).toBeGreaterThanOrEqual(140);
    expect(tags(b.received())).toEqual([1, 2]);
  });

  it("delay on the inbound side holds delivery to us", async () => {
    const [a, b] = await pair();
    a.transport.faults.setDelay(2, 150, "in");
    const sentAt = performance.now();
    let arrivedAt = 0;

    b.transport.send([tagged(2, 1, 1)]);
    await waitFor(() => {
      if (a.received().length === 1 && arrivedAt === 0) arrivedAt = performance.now();
      return arrivedAt > 0;
    }, "delayed delivery");

    expect(arrivedAt - sentAt).toBeGreaterThanOrEqual(140);
  });

  it("loss 100% drops every message; loss 50% drops roughly half", async () => {
    const [a, b] = await pair();
    a.transport.faults.setLoss(2, 100, "out");
    for (let i = 0; i < 50; i++) a.transport.send([tagged(1, 2, i)]);
    a.transport.faults.setLoss(2, 50, "out");
    const count = 400;
    for (let i = 0; i < count; i++) a.transport.send([tagged(1, 2, 1_000 + i)]);
    a.transport.faults.heal();
    a.transport.send([tagged(1, 2, 9_999)]);

    await waitFor(() => tags(b.received()).includes(9_999), "marker after heal");
    const survived = tags(b.received()).filter((t) => t >= 1_000 && t < 9_999);
    expect(tags(b.received()).filter((t) => t < 1_000)).toEqual([]);
    // Binomial(400, 0.5): outside 100..300 has probability far below 1e-20.
    expect(survived.length).toBeGreaterThan(100);
    expect(survived.length).toBeLessThan(300);
    expect(survived).toEqual([...survived].sort((x, y) => x - y));
  });

  it("loss on the inbound side discards messages we receive", async () => {
    const [a, b] = await pair();
    a.transport.faults.setLoss(2, 100, "in");
    b.transport.send([tagged(2, 1, 1), tagged(2, 1, 2)]);
    await waitFor(() => a.transport.faults.droppedMessages(2, "in") === 2, "lost arrivals");
    a.transport.faults.applyRules({ links: [] });
    b.transport.send([tagged(2, 1, 3)]);

    await waitFor(() => a.received().length >= 1, "marker after heal");
    expect(tags(a.received())).toEqual([3]);
  });

  it("applyRules from JSON text partitions a node from one peer only", async () => {
    const started = (await startCluster([1, 2, 3])) as [TestNode, TestNode, TestNode];
    nodes.push(...started);
    const [a, b, c] = started;
    a.transport.faults.applyRules('{"links":[{"peer":2,"drop":true}]}');

    a.transport.send([tagged(1, 2, 1), tagged(1, 3, 1)]);
    b.transport.send([tagged(2, 1, 2)]);
    c.transport.send([tagged(3, 1, 3)]);
    await waitFor(() => c.received().length === 1 && a.received().length === 1, "unaffected links");
    await waitFor(() => a.transport.faults.droppedMessages(2, "in") === 1, "ignored arrival");
    a.transport.faults.heal();
    a.transport.send([tagged(1, 2, 4)]);
    b.transport.send([tagged(2, 1, 5)]);

    await waitFor(() => b.received().length >= 1 && a.received().length >= 2, "markers");
    expect(tags(b.received())).toEqual([4]);
    expect(tags(a.received())).toEqual([3, 5]);
  });
});
