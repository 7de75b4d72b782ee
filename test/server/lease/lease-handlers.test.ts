// The unary Lease calls over the real state machine: grant with etcd's TTL
// rules and NOSPACE gate, revoke deleting attached keys, TimeToLive counting
// down from the replicated expiry (-1 when unknown), Leases listing ids.
import { describe, expect, it } from "vitest";
import { CairnError } from "../../../src/server/errors.js";
import type { WriteGate } from "../../../src/server/kv-handlers.js";
import { LeaseHandlers } from "../../../src/server/lease/lease-handlers.js";
import type { RaftNode } from "../../../src/server/raft-node.js";
import { bytes, FakeMember, headers, openGate, text } from "../lock/fake-member.js";

function setup(gate: WriteGate = openGate) {
  const member = new FakeMember();
  const leases = new LeaseHandlers({
    node: member as unknown as RaftNode,
    headers,
    gate,
    electionTimeoutMs: 1000,
  });
  return { member, leases };
}

describe("Lease handlers", () => {
  it("grants with a server-chosen id and raises a 1 s TTL to the 2 s minimum", async () => {
    const { leases, member } = setup();
    const granted = await leases.grant({ ID: 0, TTL: 1 } as never);
    expect(granted.ID).toBeGreaterThan(0);
    expect(granted.TTL).toBe(2);
    expect(member.stateMachine.leases.get(granted.ID as number)?.grantedTtlSeconds).toBe(2);
  });

  it("grants a named id once; the second grant is 'lease already exists'", async () => {
    const { leases } = setup();
    expect((await leases.grant({ ID: 77, TTL: 10 } as never)).ID).toBe(77);
    await expect(leases.grant({ ID: 77, TTL: 10 } as never)).rejects.toThrow(
      "etcdserver: lease already exists",
    );
  });

  it("refuses grants while the write gate is closed (NOSPACE)", async () => {
    const closed: WriteGate = {
      admit: (kind) => {
        if (kind === "write") throw new CairnError("NO_SPACE");
      },
    };
    const { leases, member } = setup(closed);
    await expect(leases.grant({ ID: 0, TTL: 10 } as never)).rejects.toThrow(
      "etcdserver: mvcc: database space exceeded",
    );
    expect(member.proposals).toEqual([]);
  });

  it("TimeToLive counts down from the replicated expiry and lists keys on request", async () => {
    const { leases, member } = setup();
    // The handler reads the wall clock; the grant happened 3.5 s ago by the proposer's.
    member.nowMs = Date.now() - 3_500;
    await leases.grant({ ID: 5, TTL: 10 } as never);
    await member.propose({
      kind: "put",
      key: bytes("svc/a"),
      value: bytes("x"),
      lease: 5,
      prevKv: false,
      ignoreValue: false,
      ignoreLease: false,
    });
    const answer = await leases.timeToLive({ ID: 5, keys: true } as never);
    expect(answer.TTL).toBe(6);
    expect(answer.grantedTTL).toBe(10);
    expect((answer.keys ?? []).map((k) => text(k))).toEqual(["svc/a"]);
    const withoutKeys = await leases.timeToLive({ ID: 5, keys: false } as never);
    expect(withoutKeys.keys).toBeUndefined();
  });

  it("TimeToLive of an unknown or impossible id is TTL -1, not an error", async () => {
    const { leases } = setup();
    expect((await leases.timeToLive({ ID: 404, keys: true } as never)).TTL).toBe(-1);
    expect((await leases.timeToLive({ ID: -1, keys: false } as never)).TTL).toBe(-1);
  });

  it("Leases lists every id; Revoke deletes the lease and its keys", async () => {
    const { leases, member } = setup();
    await leases.grant({ ID: 2, TTL: 10 } as never);
    await leases.grant({ ID: 1, TTL: 10 } as never);
    await member.propose({
      kind: "put",
      key: bytes("k"),
      value: bytes("v"),
      lease: 2,
      prevKv: false,
      ignoreValue: false,
      ignoreLease: false,
    });
    expect((await leases.leases()).leases).toEqual([{ ID: 1 }, { ID: 2 }]);
    await leases.revoke({ ID: 2 } as never);
    expect(member.get(bytes("k"))).toBeUndefined();
    expect((await leases.leases()).leases).toEqual([{ ID: 1 }]);
    await expect(leases.revoke({ ID: 2 } as never)).rejects.toThrow(
      "etcdserver: requested lease not found",
    );
    await expect(leases.revoke({ ID: 0 } as never)).rejects.toThrow(
      "etcdserver: requested lease not found",
    );
  });
});
