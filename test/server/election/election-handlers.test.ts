// v3election semantics over the real state machine: campaign on the lock
// queue, Leader / "election: no leader", Proclaim and Resign guarded by the
// leader key's create revision, re-campaign proclaiming a new value, and the
// Observe stream (current leader, proclaims, leader changes, slow consumer).
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import type { v3electionpb } from "../../../src/gen/etcd.js";
import { ElectionHandlers } from "../../../src/server/election/election-handlers.js";
import { leaderChanged, ObserveHub } from "../../../src/server/election/observe.js";
import { bytes, FakeMember, queueDeps, settle, text } from "../lock/fake-member.js";

function setup() {
  const member = new FakeMember();
  const deps = queueDeps(member);
  const election = new ElectionHandlers(deps);
  const grant = async (leaseId: number): Promise<void> => {
    await member.propose({ kind: "lease-grant", leaseId, ttlSeconds: 30 });
  };
  const campaign = (lease: number, value: string, signal = new AbortController().signal) =>
    election.campaign({ name: bytes("svc"), lease, value: bytes(value) } as never, signal);
  const leaderValue = async (): Promise<string> => {
    const response = await election.leader({ name: bytes("svc") } as never);
    return text(response.kv?.value as Uint8Array);
  };
  return { member, deps, election, grant, campaign, leaderValue };
}

type LeaderKey = v3electionpb.LeaderKey.$Properties;

describe("Election", () => {
  it("a lone candidate leads at once with LeaderKey{name, key, rev, lease}", async () => {
    const { member, grant, campaign, leaderValue } = setup();
    await grant(0x10);
    const response = await campaign(0x10, "n1:8080");
    const leader = response.leader as LeaderKey;
    expect(text(leader.name as Uint8Array)).toBe("svc");
    expect(text(leader.key as Uint8Array)).toBe("svc/10");
    expect(leader.lease).toBe(0x10);
    expect(leader.rev).toBe(member.get(bytes("svc/10"))?.createRevision);
    expect(await leaderValue()).toBe("n1:8080");
  });

  it('answers "election: no leader" when nobody campaigns', async () => {
    const { election } = setup();
    await expect(election.leader({ name: bytes("svc") } as never)).rejects.toThrow(
      "election: no leader",
    );
  });

  it("a second candidate waits until the leader resigns, then leads", async () => {
    const { grant, campaign, election, leaderValue } = setup();
    await grant(1);
    await grant(2);
    const first = (await campaign(1, "a")).leader as LeaderKey;
    let second: LeaderKey | null = null;
    const waiting = campaign(2, "b").then((r) => {
      second = r.leader as LeaderKey;
    });
    await settle();
    expect(second).toBeNull();
    expect(await leaderValue()).toBe("a");
    await election.resign({ leader: first } as never);
    await waiting;
    expect(text((second as LeaderKey | null)?.key as Uint8Array)).toBe("svc/2");
    expect(await leaderValue()).toBe("b");
  });

  it("Proclaim changes the value only for the current incarnation of the leader key", async () => {
    const { grant, campaign, election, leaderValue } = setup();
    await grant(1);
    const leader = (await campaign(1, "v1")).leader as LeaderKey;
    await election.proclaim({ leader, value: bytes("v2") } as never);
    expect(await leaderValue()).toBe("v2");
    const stale = { ...leader, rev: (leader.rev as number) - 1 };
    await expect(election.proclaim({ leader: stale, value: bytes("x") } as never)).rejects.toThrow(
      "election: not leader",
    );
    await expect(
      election.proclaim({ leader: { ...leader, rev: 0 }, value: bytes("x") } as never),
    ).rejects.toThrow("election: not leader");
    await expect(election.proclaim({ value: bytes("x") } as never)).rejects.toThrow(
      '"leader" field must be provided',
    );
    expect(await leaderValue()).toBe("v2");
  });

  it("a deposed leader's Resign answers OK and leaves the successor in place", async () => {
    const { member, grant, campaign, election, leaderValue } = setup();
    await grant(1);
    await grant(2);
    const first = (await campaign(1, "a")).leader as LeaderKey;
    const second = campaign(2, "b");
    await settle();
    await member.propose({ kind: "lease-revoke", leaseId: 1 });
    await second;
    await election.resign({ leader: first } as never);
    expect(await leaderValue()).toBe("b");
  });

  it("re-campaigning with the same lease and a new value proclaims it", async () => {
    const { grant, campaign, leaderValue } = setup();
    await grant(1);
    const before = (await campaign(1, "old")).leader as LeaderKey;
    const after = (await campaign(1, "new")).leader as LeaderKey;
    expect(after.rev).toBe(before.rev);
    expect(await leaderValue()).toBe("new");
  });

  it("a candidate whose lease dies while it waits fails instead of leading", async () => {
    const { member, grant, campaign } = setup();
    await grant(1);
    await grant(2);
    await campaign(1, "a");
    const doomed = campaign(2, "b");
    await settle();
    await member.propose({ kind: "lease-revoke", leaseId: 2 });
    await expect(doomed).rejects.toThrow("election: session is expired");
  });

  it("a cancelled campaign withdraws its key", async () => {
    const { member, grant, campaign } = setup();
    await grant(1);
    await grant(2);
    await campaign(1, "a");
    const controller = new AbortController();
    const cancelled = campaign(2, "b", controller.signal);
    await settle();
    controller.abort(new Error("client went away"));
    await expect(cancelled).rejects.toThrow("client went away");
    expect(member.get(bytes("svc/2"))).toBeUndefined();
  });
});

class FakeObserveCall extends EventEmitter {
  readonly sent: string[] = [];
  cancelled = false;
  writable = true;
  constructor(readonly request: { name: Uint8Array }) {
    super();
  }
  write(response: v3electionpb.LeaderResponse.$Properties): boolean {
    this.sent.push(text(response.kv?.value as Uint8Array));
    return this.writable;
  }
}

describe("Observe", () => {
  it("detects a change of leader key or of its value, never a vanished leader", () => {
    const kv = {
      key: bytes("svc/1"),
      createRevision: 2,
      modRevision: 2,
      version: 1,
      value: bytes("a"),
      lease: 1,
    };
    expect(leaderChanged(null, kv)).toBe(true);
    expect(leaderChanged({ key: "svc/1", modRevision: 2 }, kv)).toBe(false);
    expect(leaderChanged({ key: "svc/1", modRevision: 1 }, kv)).toBe(true);
    expect(leaderChanged({ key: "svc/0", modRevision: 2 }, kv)).toBe(true);
    expect(leaderChanged({ key: "svc/1", modRevision: 2 }, undefined)).toBe(false);
  });

  it("streams the current leader, its proclaims and each new leader; ignores other keys", async () => {
    const { member, deps, grant, campaign, election } = setup();
    const hub = new ObserveHub();
    member.onApplied((events) => hub.onApplied(events));
    await grant(1);
    await grant(2);
    const first = (await campaign(1, "a")).leader as LeaderKey;
    const call = new FakeObserveCall({ name: bytes("svc") });
    await hub.serve(call as never, deps);
    const second = campaign(2, "b");
    await settle();
    await election.proclaim({ leader: first, value: bytes("a2") } as never);
    await member.propose({
      kind: "put",
      key: bytes("svcx"),
      value: bytes("noise"),
      lease: 0,
      prevKv: false,
      ignoreValue: false,
      ignoreLease: false,
    });
    await election.resign({ leader: first } as never);
    await second;
    expect(call.sent).toEqual(["a", "a2", "b"]);
    call.cancelled = true;
    call.emit("cancelled");
    expect(hub.size).toBe(0);
  });

  it("sends a slow observer only the latest leader once it drains", async () => {
    const { member, deps, grant, campaign, election } = setup();
    const hub = new ObserveHub();
    member.onApplied((events) => hub.onApplied(events));
    await grant(1);
    const leader = (await campaign(1, "v0")).leader as LeaderKey;
    const call = new FakeObserveCall({ name: bytes("svc") });
    call.writable = false;
    await hub.serve(call as never, deps);
    for (const value of ["v1", "v2", "v3"]) {
      await election.proclaim({ leader, value: bytes(value) } as never);
    }
    expect(call.sent).toEqual(["v0"]);
    call.writable = true;
    call.emit("drain");
    expect(call.sent).toEqual(["v0", "v3"]);
  });
});
