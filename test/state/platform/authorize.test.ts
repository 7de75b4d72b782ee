// Authorization per role: the pure table (viewers read, operators change
// resources, locks and membership, admins manage users and retention), and
// the same rules enforced at apply against the replicated roles.
import { describe, expect, it } from "vitest";
import {
  ACTIONS,
  type Action,
  authorize,
  ROLES,
  type Role,
} from "../../../src/state/platform/authorize.js";
import {
  acquire,
  cluster,
  command,
  create,
  join,
  leaseGrant,
  ok,
  refused,
  register,
} from "./helpers.js";

const EXPECTED: Record<Role, readonly Action[]> = {
  viewer: ["resource.read", "oplog.read", "lock.read", "membership.read"],
  operator: [
    "resource.read",
    "resource.write",
    "oplog.read",
    "lock.read",
    "lock.write",
    "membership.read",
    "membership.write",
  ],
  admin: ACTIONS,
};

describe("authorize(role, action)", () => {
  const pairs = ROLES.flatMap((role) => ACTIONS.map((action) => [role, action] as [Role, Action]));
  it.each(pairs)("%s may %s only if the table says so", (role, action) => {
    expect(authorize(role, action)).toBe(EXPECTED[role].includes(action));
  });
});

describe("apply enforces the actor's current roles", () => {
  const commands = {
    "resource.write": () => create("__"),
    "lock.write": () => acquire("__", "deploy", 7),
    "membership.write": () => join("__", "web", "n1", 7),
    "user.manage": () => command("user-delete", "__", { username: "vic" }),
    "oplog.manage": () =>
      command("oplog-retention", "__", { maxRecords: 1000, maxAgeMs: 86_400_000 }),
  } as const;

  const cases = ROLES.flatMap((role) =>
    Object.keys(commands).map((action) => [role, action as keyof typeof commands] as const),
  );

  it.each(cases)("%s → %s", (role, action) => {
    const { apply } = cluster();
    apply(leaseGrant(7));
    const actor = { admin: "root", operator: "ops", viewer: "vic" }[role];
    const built = { ...commands[action](), actor };
    const applied = apply(built);
    if (authorize(role, action)) {
      expect(applied.result.kind).not.toBe("platform-error");
    } else {
      expect(refused(applied, "permission-denied")).toBe(
        `user ${actor} (${role}) may not ${action}`,
      );
    }
  });

  it("a role taken away denies at the very next command", () => {
    const { apply } = cluster();
    ok(apply(create("ops")), "resource-create");
    apply(
      command("user-update", "root", {
        username: "ops",
        expectedVersion: 0,
        email: null,
        phone: null,
        roles: ["viewer"],
        password: null,
      }),
    );
    refused(apply(create("ops")), "permission-denied");
  });

  it("unknown actors are refused", () => {
    const { apply } = cluster();
    expect(refused(apply(create("mallory")), "permission-denied")).toBe('unknown user "mallory"');
    expect(refused(apply(register("xavier", "mallory", ["admin"])), "permission-denied")).toBe(
      'unknown user "mallory"',
    );
  });
});
