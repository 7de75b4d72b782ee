// Membership groups at apply: join/update/leave with a keys-moved summary,
// members leaving with their lease, Locate over the committed member ids, and
// bad input named by field.
import { describe, expect, it } from "vitest";
import { MEMBERS_PER_GROUP_MAX } from "../../../src/state/platform/membership.js";
import { locate } from "../../../src/state/platform/rendezvous.js";
import { cluster, command, join, leaseGrant, leaseRevoke, ok, refused } from "./helpers.js";

describe("join and leave", () => {
  it("summarizes each change with its revision and the share of keys moved", () => {
    const { sm, apply } = cluster();
    apply(leaseGrant(1));
    const first = ok(apply(join("ops", "web", "n1", 1)), "member-join");
    expect(first.change).toMatchObject({
      type: "join",
      membersBefore: 0,
      membersAfter: 1,
      movedFraction: 1,
    });
    expect(first.change.revision).toBe(sm.kv.revision);
    const second = apply(join("ops", "web", "n2", 1));
    const change = ok(second, "member-join").change;
    expect(Math.abs(change.movedFraction - 0.5)).toBeLessThan(0.06);
    expect(second.platform?.find((e) => e.table === "membership")).toMatchObject({ change });
    const same = ok(apply(join("ops", "web", "n2", 1)), "member-join");
    expect(same.change).toMatchObject({ type: "update", movedFraction: 0, membersAfter: 2 });
    const left = ok(
      apply(command("member-leave", "ops", { group: "web", memberId: "n1" })),
      "member-leave",
    );
    expect(left.change).toMatchObject({ type: "leave", membersBefore: 2, membersAfter: 1 });
    expect(Math.abs(left.change.movedFraction - 0.5)).toBeLessThan(0.06);
    expect(
      refused(apply(command("member-leave", "ops", { group: "web", memberId: "n1" })), "not-found"),
    ).toBe("member n1 is not in group web");
  });

  it("keeps the join time and revision across updates", () => {
    const { apply } = cluster();
    apply(leaseGrant(1));
    const joined = ok(apply(join("ops", "web", "n1", 1)), "member-join").member;
    const updated = ok(apply(join("ops", "web", "n1", 1, 5)), "member-join").member;
    expect(updated).toMatchObject({ weight: 5, joinRevision: joined.joinRevision });
    expect(updated.modRevision).toBeGreaterThan(joined.modRevision);
  });

  it("removes members whose lease is revoked, in the revoke's revision", () => {
    const { sm, apply } = cluster();
    apply(leaseGrant(1));
    apply(leaseGrant(2));
    apply(join("ops", "web", "n1", 1));
    apply(join("ops", "web", "n2", 2));
    apply(join("ops", "db", "n1", 1));
    const revoked = apply(leaseRevoke(1));
    expect(sm.platform.listMembers("web").map((m) => m.memberId)).toEqual(["n2"]);
    expect(sm.platform.membership.members("db")).toEqual([]);
    const changes = (revoked.platform ?? []).filter((e) => e.table === "membership");
    expect(
      changes.map((e) => e.table === "membership" && [e.change.group, e.change.type, e.revision]),
    ).toEqual([
      ["db", "leave", sm.kv.revision],
      ["web", "leave", sm.kv.revision],
    ]);
  });

  it("grants a lease when asked for a TTL", () => {
    const { sm, apply } = cluster();
    const body = { ...join("ops", "web", "n1", 0), ttlSeconds: 10 };
    const joined = ok(apply(body), "member-join");
    expect(sm.leases.get(joined.member.leaseId)?.grantedTtlSeconds).toBe(10);
  });

  it("bounds a group", () => {
    const { apply } = cluster();
    apply(leaseGrant(1));
    for (let i = 0; i < MEMBERS_PER_GROUP_MAX; i++)
      ok(apply(join("ops", "big", `n${i}`, 1)), "member-join");
    expect(refused(apply(join("ops", "big", "extra", 1)), "failed-precondition")).toContain(
      "256 members",
    );
  });
});

describe("locate", () => {
  it("answers with the committed members, best first, at the current revision", () => {
    const { sm, apply } = cluster();
    apply(leaseGrant(1));
    for (const [id, weight] of [
      ["a", 1],
      ["b", 3],
      ["c", 2],
    ] as const)
      apply(join("ops", "web", id, 1, weight));
    const answer = sm.platform.locate("web", "order:42", 2);
    if ("code" in answer) throw new Error(answer.message);
    const expected = locate(
      [
        { id: "a", weight: 1 },
        { id: "b", weight: 3 },
        { id: "c", weight: 2 },
      ],
      "order:42",
      2,
    );
    expect(answer.owners.map((m) => m.memberId)).toEqual(expected);
    expect(answer.revision).toBe(sm.kv.revision);
    const empty = sm.platform.locate("none", "k", 1);
    expect("code" in empty && empty.code).toBe("not-found");
    const bad = sm.platform.locate("web", "k", 17);
    expect("code" in bad && bad.message).toBe("locate.replicas must be 1..16, got 17");
  });
});

describe("bad input", () => {
  it.each([
    [
      "group",
      { group: "web farm" },
      'member.group must be 1..64 characters of [A-Za-z0-9._-], got "web farm"',
    ],
    [
      "member id",
      { memberId: "" },
      'member.member_id must be 1..128 characters of [A-Za-z0-9._:-], got ""',
    ],
    [
      "address",
      { address: "has space:1" },
      "member.address must be 1..256 printable ASCII characters without spaces",
    ],
    ["weight", { weight: 0 }, "member.weight must be 1..1000, got 0"],
    ["weight high", { weight: 1001 }, "member.weight must be 1..1000, got 1001"],
    [
      "metadata key",
      { metadata: { "bad key": "x" } },
      'member.metadata key must be 1..64 characters of [A-Za-z0-9._/-], got "bad key"',
    ],
    ["lease", { leaseId: -1 }, "lease_id must be 0 (grant one) or a lease id, got -1"],
  ])("join refuses a bad %s", (_, change, message) => {
    const { apply } = cluster();
    apply(leaseGrant(1));
    expect(
      refused(apply({ ...join("ops", "web", "n1", 1), ...change }), "invalid-argument"),
    ).toContain(message);
  });
});
