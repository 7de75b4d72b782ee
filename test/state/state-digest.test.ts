// The state digest of the tables HashKV does not cover: any change to one row
// of any of them changes the digest and names the table; members that applied
// the same entries agree; a digest-checkpoint command records the digest at
// its point of the log and survives the command codec.
import { describe, expect, it } from "vitest";
import { type Command, decodeCommand, encodeCommand } from "../../src/state/command.js";
import { differingTables, StateDigester } from "../../src/state/state-digest.js";
import { StateMachine } from "../../src/state/state-machine.js";
import { grant, put } from "./helpers.js";
import { acquire, cluster, create, join, leaseGrant, token } from "./platform/helpers.js";

let nextCheckpointId = 1;
const checkpoint = (checkpointId: number): Command => ({
  v: 1,
  id: 900_000 + nextCheckpointId++,
  at: 0,
  kind: "digest-checkpoint",
  checkpoint: checkpointId,
});

/** A member with a row in every digested table. */
function busyMember() {
  const member = cluster();
  member.apply(create("ops", { name: "web" }));
  member.apply(leaseGrant(7, 60));
  member.apply(acquire("ops", "l1", 7, false, 20));
  member.apply(join("ops", "web", "n1", 7, 2));
  const vic = member.sm.platform.users.get("vic");
  member.apply({
    v: 1,
    id: 5_000,
    at: 1_700_000_000_000,
    kind: "user-login",
    actor: "",
    username: "vic",
    userVersion: vic?.version ?? 1,
    tokenHash: token(1),
    ttlMs: 60_000,
  } as Command);
  member.apply({
    v: 1,
    id: 5_001,
    at: 0,
    kind: "alarm",
    action: "activate",
    memberId: 2,
    alarm: "nospace",
  });
  member.apply({
    v: 1,
    id: 5_002,
    at: 0,
    kind: "member-attributes",
    memberId: 2,
    name: "n2",
    clientUrls: ["http://127.0.0.1:2379"],
  });
  return member;
}

describe("state digest", () => {
  it("covers every table but the KV's, each with at least one row here", () => {
    const digest = busyMember().sm.digestTables();
    expect(digest.tables.map((t) => t.table)).toEqual([...StateMachine.digestTables]);
    expect(StateMachine.digestTables).not.toContain("kv");
    const empty = digest.tables.filter((t) => t.rows === 0).map((t) => t.table);
    // Resource history and its meta row only appear once a resource changes / history is pruned.
    expect(empty.filter((t) => t !== "resource-history")).toEqual([]);
  });

  it("is the same on two members that applied the same commands", () => {
    expect(busyMember().sm.digestTables()).toEqual(busyMember().sm.digestTables());
  });

  it("ignores the KV: HashKV covers it", () => {
    const one = busyMember();
    const two = busyMember();
    two.apply(put("k", "v"));
    expect(two.sm.digestTables()).toEqual(one.sm.digestTables());
  });

  it("changes when one byte of a user's password hash changes in memory, and names the table", () => {
    const healthy = busyMember().sm.digestTables();
    const member = busyMember();
    const hash = member.sm.platform.users.get("vic")?.passwordHash as Uint8Array;
    hash[0] = (hash[0] as number) ^ 0x01;
    const corrupt = member.sm.digestTables();
    expect(corrupt.digest).not.toBe(healthy.digest);
    expect(differingTables(healthy, corrupt)).toEqual(["user"]);
  });

  it("changes when a lease's expiry differs (a renewal one member missed)", () => {
    const one = busyMember();
    const two = busyMember();
    two.apply({ v: 1, id: 6_000, at: 1_700_000_001_000, kind: "lease-renew", leaseId: 7 });
    expect(differingTables(one.sm.digestTables(), two.sm.digestTables())).toEqual(["lease"]);
  });

  it("changes when a member misses a row (a resource, and its op-log record)", () => {
    const one = busyMember();
    const two = busyMember();
    two.apply(create("ops", { name: "db" }));
    expect(differingTables(one.sm.digestTables(), two.sm.digestTables()).sort()).toEqual([
      "oplog",
      "platform-meta",
      "resource",
    ]);
  });

  it("a row under another key counts as a different row", () => {
    const a = new StateDigester(["t"]);
    a.visit("t", Buffer.from("k1"), Buffer.from("v"));
    const b = new StateDigester(["t"]);
    b.visit("t", Buffer.from("k2"), Buffer.from("v"));
    expect(a.result().digest).not.toBe(b.result().digest);
  });

  it("does not depend on the order rows are visited in", () => {
    const rows: Array<[string, string]> = [
      ["a", "1"],
      ["b", "2"],
      ["c", "3"],
    ];
    const forward = new StateDigester(["t"]);
    for (const [k, v] of rows) forward.visit("t", Buffer.from(k), Buffer.from(v));
    const backward = new StateDigester(["t"]);
    for (const [k, v] of [...rows].reverse()) backward.visit("t", Buffer.from(k), Buffer.from(v));
    expect(backward.result()).toEqual(forward.result());
  });
});

describe("digest-checkpoint command", () => {
  it("records the digest at its point of the log, changes nothing, and round-trips the codec", () => {
    const member = busyMember();
    const sent = checkpoint(42);
    const applied = member.sm.apply(decodeCommand(encodeCommand(sent)));
    expect(applied.writes).toEqual([]);
    expect(applied.events).toEqual([]);
    expect(applied.result).toEqual({
      kind: "digest-checkpoint",
      ok: { checkpoint: 42, revision: member.sm.kv.revision, state: member.sm.digestTables() },
    });
    // Later changes do not rewrite what was recorded at the checkpoint.
    member.apply(grant(99, 60));
    expect(member.sm.digestAt(42)).toEqual(
      applied.result.kind === "digest-checkpoint" ? applied.result.ok : null,
    );
    expect(member.sm.digestAt(42)?.state).not.toEqual(member.sm.digestTables());
    expect(member.sm.digestAt(41)).toBeUndefined();
  });

  it("keeps only the last eight checkpoints", () => {
    const sm = new StateMachine();
    for (let i = 1; i <= 10; i++) sm.apply(checkpoint(i));
    expect(sm.digestAt(1)).toBeUndefined();
    expect(sm.digestAt(2)).toBeUndefined();
    expect(sm.digestAt(3)?.checkpoint).toBe(3);
    expect(sm.digestAt(10)?.checkpoint).toBe(10);
  });
});
