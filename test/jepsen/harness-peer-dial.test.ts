// `cairn serve --unsafe-peer-dial` on real members: every peer link runs
// through its own jepsen-lite proxy, so cutting the leader's links (both
// ways) through the proxies alone forces a new election among the others,
// and after healing all three agree on a leader again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProcessCluster } from "../../cluster/process-cluster.js";
import { InprocNet, PortableNet } from "../../jepsen-lite/net/net.js";

describe("members dial their peers through per-link proxies", { timeout: 90_000 }, () => {
  let cluster: ProcessCluster;
  let net: PortableNet | null = null;
  beforeAll(async () => {
    cluster = await ProcessCluster.start({
      size: 3,
      beforeStart: async (c) => {
        net = await PortableNet.start(c.members.map((m) => ({ name: m.name, peer: m.peer })));
      },
      memberArgs: (name) => net?.serveArgs(name) ?? [],
    });
  });
  afterAll(async () => {
    await cluster?.stop();
    await net?.close();
  });

  it("all Raft traffic crosses the proxies, and a cut there partitions the leader", async () => {
    const links = net as unknown as PortableNet;
    const leader = await cluster.waitForLeader(20_000);
    const names = cluster.members.map((m) => m.name);
    const others = names.filter((n) => n !== leader);
    for (const src of names) {
      for (const dst of names) {
        if (src !== dst)
          expect(links.link(src, dst).stats.bytesForwarded, `${src}->${dst}`).toBeGreaterThan(0);
      }
    }
    for (const other of others) {
      await links.cut(leader, other);
      await links.cut(other, leader);
    }
    const next = await cluster.waitForLeader(30_000, others);
    expect(next).not.toBe(leader);
    await links.heal();
    expect(names).toContain(await cluster.waitForLeader(30_000));
  });
});

describe("the inproc backend cuts links through the members' /test/faults", {
  timeout: 90_000,
}, () => {
  let cluster: ProcessCluster;
  let net: InprocNet;
  beforeAll(async () => {
    cluster = await ProcessCluster.start({
      size: 3,
      beforeStart: async (c) => {
        net = new InprocNet((name, rules) => c.faults(name, rules));
      },
      memberArgs: () => net.serveArgs(),
    });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("cutting the leader both ways elects another; heal reunites them", async () => {
    const leader = await cluster.waitForLeader(20_000);
    const names = cluster.members.map((m) => m.name);
    const others = names.filter((n) => n !== leader);
    for (const other of others) {
      await net.cut(leader, other);
      await net.cut(other, leader);
    }
    const next = await cluster.waitForLeader(30_000, others);
    expect(next).not.toBe(leader);
    await net.heal();
    expect(names).toContain(await cluster.waitForLeader(30_000));
  });
});
