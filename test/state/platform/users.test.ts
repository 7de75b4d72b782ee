// Users and sessions at apply: the first user becomes admin, roles beyond
// viewer need an admin, self-service vs admin updates, expected versions, the
// last admin, login bound to the verified user version, expiry judged by the
// reader's clock, bounded sessions per user, and bad input named by field.
import { describe, expect, it } from "vitest";
import { SESSIONS_PER_USER_MAX, tokenDigest } from "../../../src/state/platform/sessions.js";
import { validatePassword } from "../../../src/state/platform/users.js";
import { StateMachine } from "../../../src/state/state-machine.js";
import { clock, cluster, command, ok, password, refused, register, token } from "./helpers.js";

const login = (username: string, n: number, userVersion = 1, ttlMs = 3_600_000) =>
  command("user-login", "", { username, userVersion, tokenHash: token(n), ttlMs });

const updateUser = (
  actor: string,
  username: string,
  change: Partial<Parameters<typeof command<"user-update">>[2]>,
) =>
  command("user-update", actor, {
    username,
    expectedVersion: 0,
    email: null,
    phone: null,
    roles: null,
    password: null,
    ...change,
  });

describe("register", () => {
  it("makes the first user admin and later ones viewers, bumping the revision once each", () => {
    const sm = new StateMachine();
    const first = ok(sm.apply(register("root")), "user-register");
    expect(first.user.roles).toEqual(["admin"]);
    expect(first.revision).toBe(2);
    const second = ok(sm.apply(register("bob", "", ["viewer"])), "user-register");
    expect(second.user.roles).toEqual(["viewer"]);
    expect(second.revision).toBe(3);
    expect(sm.kv.revision).toBe(3);
    expect(second.user).not.toHaveProperty("passwordHash");
    expect(sm.platform.getUser("root")).not.toHaveProperty("passwordSalt");
    expect(sm.platform.getUser("root")?.roles).toEqual(["admin"]);
  });

  it("grants other roles only when an admin registers the user", () => {
    const { apply } = cluster();
    expect(refused(apply(register("eve", "", ["admin"])), "permission-denied")).toMatch(
      /needs a signed-in user/,
    );
    expect(refused(apply(register("eve", "ops", ["operator"])), "permission-denied")).toContain(
      "may not user.manage",
    );
    expect(
      ok(apply(register("eve", "root", ["operator", "admin"])), "user-register").user.roles,
    ).toEqual(["admin", "operator"]);
  });

  it("refuses a taken username", () => {
    const { apply } = cluster();
    expect(refused(apply(register("ops")), "already-exists")).toBe("user ops already exists");
  });

  it.each([
    [
      "username",
      { username: "ab" },
      'user.username must be 3..32 characters of [a-z0-9._-], got "ab"',
    ],
    [
      "username case",
      { username: "Alice" },
      "user.username must be 3..32 characters of [a-z0-9._-]",
    ],
    ["email", { email: "nope" }, "user.email must be an address like name@example.com"],
    ["phone", { phone: "0044 20 7946" }, "user.phone must be empty or E.164"],
    [
      "roles",
      { roles: ["root" as "admin"] },
      'user.roles must be of admin|operator|viewer, got "root"',
    ],
    [
      "salt",
      { password: { salt: new Uint8Array(4), hash: new Uint8Array(64) } },
      "user.password salt must be 16..64 bytes, got 4",
    ],
    [
      "hash",
      { password: { salt: new Uint8Array(16), hash: new Uint8Array(8) } },
      "user.password hash must be 32..128 bytes, got 8",
    ],
  ])("names the bad field: %s", (_, change, message) => {
    const { apply } = cluster();
    const base = register("newbie");
    expect(refused(apply({ ...base, ...change }), "invalid-argument")).toContain(message);
  });

  it("checks the password length before hashing (the handler's check)", () => {
    expect(validatePassword("short")).toBe(
      "user.password must be 10..1024 characters, got 5 characters",
    );
    expect(validatePassword("long enough!")).toBeNull();
  });
});

describe("update and delete", () => {
  it("lets users change their own contact details but not their roles", () => {
    const { sm, apply } = cluster();
    apply(login("vic", 1));
    const done = ok(apply(updateUser("vic", "vic", { email: "v@example.org" })), "user-update");
    expect(done.user).toMatchObject({ email: "v@example.org", version: 2 });
    // Only a new password ends sessions.
    expect(done.sessionsRevoked).toBe(0);
    expect(sm.platform.verifySession(token(1), clock.at)?.user.email).toBe("v@example.org");
    expect(
      refused(apply(updateUser("vic", "vic", { roles: ["admin"] })), "permission-denied"),
    ).toContain("user vic (viewer) may not user.manage");
    expect(
      refused(apply(updateUser("vic", "ops", { email: "x@example.org" })), "permission-denied"),
    ).toBeTruthy();
  });

  it("checks the expected version and names both versions", () => {
    const { apply } = cluster();
    apply(updateUser("root", "vic", { phone: "+4930123456" }));
    expect(
      refused(apply(updateUser("root", "vic", { email: "a@b.cd", expectedVersion: 1 })), "aborted"),
    ).toBe("user vic is at version 2, request expected version 1");
  });

  it("never removes the last admin", () => {
    const { apply } = cluster();
    expect(
      refused(apply(updateUser("root", "root", { roles: ["viewer"] })), "failed-precondition"),
    ).toContain("last admin");
    expect(
      refused(apply(command("user-delete", "root", { username: "root" })), "failed-precondition"),
    ).toContain("last admin");
    ok(apply(updateUser("root", "ops", { roles: ["admin"] })), "user-update");
    ok(apply(command("user-delete", "ops", { username: "root" })), "user-delete");
  });

  it("ends every session on a password change and on delete", () => {
    const { sm, apply } = cluster();
    apply(login("vic", 1));
    apply(login("vic", 2));
    const changed = ok(apply(updateUser("vic", "vic", { password: password(7) })), "user-update");
    expect(changed.sessionsRevoked).toBe(2);
    expect(sm.platform.verifySession(token(1), clock.at)).toBeNull();
    apply(login("vic", 3, 2));
    expect(
      ok(apply(command("user-delete", "root", { username: "vic" })), "user-delete").sessionsRevoked,
    ).toBe(1);
    expect(sm.platform.sessions.size).toBe(0);
  });
});

describe("sessions", () => {
  it("verifies a token on any member until its expiry by the reader's clock", () => {
    const { sm, apply } = cluster();
    const done = ok(apply(login("ops", 1, 1, 60_000)), "user-login");
    expect(done.expiresAtMs).toBe(clock.at + 60_000);
    expect(
      sm.platform.verifySession(tokenDigest("token-1"), clock.at + 59_999)?.user.username,
    ).toBe("ops");
    expect(sm.platform.verifySession(token(1), clock.at + 60_000)).toBeNull();
    expect(sm.platform.verifySession(token(2), clock.at)).toBeNull();
  });

  it("refuses a login checked against an older user version", () => {
    const { apply } = cluster();
    apply(updateUser("ops", "ops", { phone: "" }));
    expect(refused(apply(login("ops", 1, 1)), "aborted")).toContain("changed (version 2)");
  });

  it("keeps at most SESSIONS_PER_USER_MAX per user, evicting the oldest", () => {
    const { sm, apply } = cluster();
    for (let n = 0; n <= SESSIONS_PER_USER_MAX; n++) {
      clock.at += 1;
      ok(apply(login("vic", n)), "user-login");
    }
    expect(sm.platform.sessions.ofUser("vic")).toHaveLength(SESSIONS_PER_USER_MAX);
    expect(sm.platform.sessions.get(token(0))).toBeUndefined();
    expect(sm.platform.sessions.get(token(1))).toBeDefined();
  });

  it("purges expired sessions during later logins", () => {
    const { sm, apply } = cluster();
    apply(login("vic", 1, 1, 60_000));
    clock.at += 120_000;
    apply(login("ops", 2));
    expect(sm.platform.sessions.get(token(1))).toBeUndefined();
  });

  it("logout ends the caller's own session; others need an admin", () => {
    const { apply } = cluster();
    apply(login("vic", 1));
    apply(login("vic", 2));
    expect(
      refused(apply(command("user-logout", "ops", { tokenHash: token(1) })), "permission-denied"),
    ).toBeTruthy();
    expect(
      ok(apply(command("user-logout", "vic", { tokenHash: token(1) })), "user-logout").username,
    ).toBe("vic");
    expect(
      ok(apply(command("user-logout", "root", { tokenHash: token(2) })), "user-logout").username,
    ).toBe("vic");
    expect(
      refused(apply(command("user-logout", "vic", { tokenHash: token(2) })), "not-found"),
    ).toContain("session not found");
  });

  it("names bad login input", () => {
    const { apply } = cluster();
    expect(
      refused(
        apply(
          command("user-login", "", {
            username: "vic",
            userVersion: 1,
            tokenHash: "xyz",
            ttlMs: 60_000,
          }),
        ),
        "invalid-argument",
      ),
    ).toContain("session.token_hash must be a SHA-256 digest");
    expect(refused(apply(login("vic", 1, 1, 10)), "invalid-argument")).toBe(
      "session.ttl_ms must be 60000..2592000000, got 10",
    );
  });
});
