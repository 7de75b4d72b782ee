// Moving leadership on a real 3-member cluster: the client library's
// moveLeader, etcd's MoveLeader called by a third-party client (etcd3) with
// its errors for a follower and a bad target, `cairn leader transfer`, and
// the handoff a leader makes when it gets SIGTERM. (etcdctl move-leader is a
// case in etcdctl-cases-cluster.ts, checked against real etcd too.)
import { Etcd3 } from "etcd3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Cairn } from "../../src/client/client.js";
import { UnknownMemberError } from "../../src/client/errors.js";
import { CliRunner } from "./cli-run.js";
import { candidaciesSince, logRecordsSince, markLogs, TestCluster } from "./harness.js";

describe("leader transfer on a 3-member cluster", { timeout: 60_000 }, () => {
  let cluster: TestCluster;
  let client: Cairn;

  const idOf = async (name: string): Promise<number> => {
    const status = await cluster.status(name);
    if (status === null) throw new Error(`${name} does not answer`);
    return status.id;
  };
  const termOf = async (name: string): Promise<number> => (await cluster.status(name))?.term ?? -1;
  const follower = (leader: string): string =>
    cluster.members.find((m) => m.name !== leader && m.process !== null)?.name as string;

  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3 });
    await cluster.waitForLeader(15_000);
    client = cluster.client();
  });
  afterAll(async () => {
    client?.close();
    await cluster?.stop();
  });

  it("client.moveLeader makes the named member the leader, in exactly one new term", async () => {
    const before = await cluster.waitForLeader();
    const target = follower(before);
    const term = await termOf(before);
    const moved = await client.moveLeader(target);
    expect(moved.from.name).toBe(before);
    expect(moved.to).toEqual({ id: await idOf(target), name: target });
    expect(moved.term).toBe(term + 1);
    expect(await cluster.waitForLeader()).toBe(target);
    expect(await termOf(target)).toBe(term + 1);
    // Asking for the member that leads already changes nothing.
    expect(await client.moveLeader(target)).toMatchObject({
      from: { name: target },
      term: term + 1,
    });
    await expect(client.moveLeader("nobody")).rejects.toBeInstanceOf(UnknownMemberError);
  });

  it("MoveLeader from another client: only the leader takes it, and only for a voter", async () => {
    const leader = await cluster.waitForLeader();
    const other = follower(leader);
    const atFollower = new Etcd3({ hosts: `http://${cluster.member(other).client}` });
    const atLeader = new Etcd3({ hosts: `http://${cluster.member(leader).client}` });
    try {
      await expect(
        atFollower.maintenance.moveLeader({ targetID: await idOf(other) }),
      ).rejects.toThrow("etcdserver: not leader");
      await expect(atLeader.maintenance.moveLeader({ targetID: 0xbad })).rejects.toThrow(
        "etcdserver: bad leader transferee",
      );
      expect(await cluster.waitForLeader()).toBe(leader);
      await atLeader.maintenance.moveLeader({ targetID: await idOf(other) });
      expect(await cluster.waitForLeader()).toBe(other);
    } finally {
      atFollower.close();
      atLeader.close();
    }
  });

  it("cairn leader transfer takes a name or a hex id and says what it did", async () => {
    const cli = new CliRunner(cluster);
    const leader = await cluster.waitForLeader();
    const target = follower(leader);
    const byName = await cli.run(["leader", "transfer", target]);
    expect(byName.code, byName.stderr).toBe(0);
    const [leaderId, targetId] = [await idOf(leader), await idOf(target)].map((id) =>
      id.toString(16),
    );
    expect(byName.stdout).toMatch(
      new RegExp(
        `^leadership moved from ${leader} \\(${leaderId}\\) to ${target} \\(${targetId}\\) \\(term \\d+\\)\\n$`,
      ),
    );
    expect(await cluster.waitForLeader()).toBe(target);
    const again = await cli.json<{ moved: boolean; to: { name: string } }>([
      "leader",
      "transfer",
      targetId as string,
    ]);
    expect(again).toMatchObject({ moved: false, to: { name: target } });
    const unknown = await cli.run(["leader", "transfer", "zz-not-a-member"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^cairn: no member is named or has the id "zz-not-a-member"; /);
  });

  it("a leader that gets SIGTERM hands over before it stops: one new term, no election timeout", async () => {
    const leader = await cluster.waitForLeader();
    const term = await termOf(leader);
    const marks = markLogs(cluster);
    expect(await cluster.stopGracefully(leader)).toBe(0);
    const successor = await cluster.waitForLeader(10_000);
    expect(successor).not.toBe(leader);
    expect(await termOf(successor)).toBe(term + 1);
    // The successor campaigned because the leader told it to, not because it timed out.
    expect(candidaciesSince(cluster, marks)).toEqual([
      { node: successor, term: term + 1, reason: "timeout-now" },
    ]);
    expect(logRecordsSince(cluster, marks, "stopping leader: handed off")).toEqual([
      expect.objectContaining({ node: leader, successor }),
    ]);
    cluster.startMember(leader);
    await cluster.waitForLeader(
      15_000,
      cluster.members.map((m) => m.name),
    );
  });
});
