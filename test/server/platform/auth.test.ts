// Bearer-token handling of the cairn.v1 API: parsing the metadata, verifying
// against the replicated session table (behind the barrier unless
// serializable), expiry by the reader's clock, logout and password changes
// revoking, role checks with the state machine's wording, and the Users
// handlers' register/login path (scrypt before proposing, the token never
// proposed in clear).
import { Metadata, status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { cairn } from "../../../src/gen/cairn.js";
import { CairnError, toServiceError } from "../../../src/server/errors.js";
import {
  bearerToken,
  INVALID_TOKEN,
  MALFORMED_CREDENTIALS,
  MISSING_CREDENTIALS,
  requireGrant,
} from "../../../src/server/platform/auth.js";
import { UserHandlers, WRONG_CREDENTIALS } from "../../../src/server/platform/users.js";
import { tokenDigest } from "../../../src/state/index.js";
import { contextFor, FakePlatformNode, platformDeps, seedUser, withToken } from "./fake-node.js";

function metadataWith(...values: string[]): Metadata {
  const metadata = new Metadata();
  for (const value of values) metadata.add("authorization", value);
  return metadata;
}

async function statusOf(call: Promise<unknown>): Promise<{ code: number; details: string }> {
  const error = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CairnError);
  const converted = toServiceError(error);
  return { code: converted.code as number, details: converted.details as string };
}

describe("bearerToken", () => {
  it("reads `Bearer <token>` in any case of the scheme", () => {
    expect(bearerToken(metadataWith("Bearer abc_DEF-123"))).toBe("abc_DEF-123");
    expect(bearerToken(metadataWith("bearer   xyz"))).toBe("xyz");
    expect(bearerToken(new Metadata())).toBeNull();
  });

  it.each([
    ["another scheme", ["Basic dXNlcjpwdw=="]],
    ["no token", ["Bearer "]],
    ["two tokens", ["Bearer a b"]],
    ["two headers", ["Bearer a", "Bearer b"]],
    ["a token too long to be ours", [`Bearer ${"a".repeat(257)}`]],
    ["characters no token has", ["Bearer a<b>"]],
  ])("refuses %s as UNAUTHENTICATED with a hint", (_name, values) => {
    let thrown: unknown = null;
    try {
      bearerToken(metadataWith(...values));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CairnError);
    expect((thrown as CairnError).grpcStatus).toBe(status.UNAUTHENTICATED);
    expect((thrown as CairnError).message).toBe(MALFORMED_CREDENTIALS);
    expect(MALFORMED_CREDENTIALS).toMatch(/cairn user login/);
  });
});

describe("Authenticator", () => {
  it("verifies a token behind the barrier, or locally when serializable", async () => {
    const node = new FakePlatformNode();
    const deps = platformDeps(node);
    const token = await seedUser(node, "alice", []);
    const before = node.barriers;
    const caller = await deps.auth.authenticate(withToken(token), "linearizable");
    expect(caller).toMatchObject({
      username: "alice",
      roles: ["admin"],
      tokenHash: tokenDigest(token),
    });
    expect(node.barriers).toBe(before + 1);
    await deps.auth.authenticate(withToken(token), "serializable");
    expect(node.barriers).toBe(before + 1);
  });

  it("refuses a missing, unknown, expired or ended session with UNAUTHENTICATED", async () => {
    const node = new FakePlatformNode();
    const deps = platformDeps(node);
    const token = await seedUser(node, "alice", []);
    expect(await statusOf(deps.auth.authenticate(new Metadata(), "linearizable"))).toEqual({
      code: status.UNAUTHENTICATED,
      details: MISSING_CREDENTIALS,
    });
    expect(MISSING_CREDENTIALS).toMatch(/log in with `cairn user login`/);
    expect(await statusOf(deps.auth.authenticate(withToken("nope"), "linearizable"))).toEqual({
      code: status.UNAUTHENTICATED,
      details: INVALID_TOKEN,
    });
    // Expiry is judged by the reader's clock: no command is needed for a session to lapse.
    node.nowMs += 3_600_000;
    expect((await statusOf(deps.auth.authenticate(withToken(token), "serializable"))).code).toBe(
      status.UNAUTHENTICATED,
    );
    node.nowMs -= 3_600_000;
    await node.propose({ kind: "user-logout", actor: "alice", tokenHash: tokenDigest(token) });
    expect((await statusOf(deps.auth.authenticate(withToken(token), "linearizable"))).details).toBe(
      INVALID_TOKEN,
    );
  });

  it("sees role changes at once, without a new login", async () => {
    const node = new FakePlatformNode();
    const deps = platformDeps(node);
    await seedUser(node, "alice", []);
    const bobToken = await seedUser(node, "bob", []);
    const bob = await contextFor(deps, bobToken);
    expect(bob.caller.roles).toEqual(["viewer"]);
    expect(() => requireGrant(bob.caller, "resource.write")).toThrow(
      "user bob (viewer) may not resource.write",
    );
    await node.propose({
      kind: "user-update",
      actor: "alice",
      username: "bob",
      expectedVersion: 0,
      email: null,
      phone: null,
      roles: ["operator"],
      password: null,
    });
    const promoted = await contextFor(deps, bobToken);
    expect(() => requireGrant(promoted.caller, "resource.write")).not.toThrow();
    const denied = toServiceError(
      (() => {
        try {
          requireGrant(promoted.caller, "user.manage");
        } catch (error) {
          return error;
        }
        return null;
      })(),
    );
    expect(denied.code).toBe(status.PERMISSION_DENIED);
  });
});

describe("Users handlers: register and login", () => {
  const register = { username: "carol", password: "a long passphrase", email: "carol@example.com" };

  it("hashes before proposing, logs in with a fresh token, and never proposes secrets", async () => {
    const node = new FakePlatformNode();
    const deps = platformDeps(node);
    const users = new UserHandlers(deps, { bootstrapPending: () => false });
    const signal = new AbortController().signal;
    const created = await users.register(cairn.v1.RegisterRequest.create(register), {
      metadata: new Metadata(),
      signal,
    });
    expect(created.user?.roles).toEqual([cairn.v1.Role.ROLE_ADMIN]);
    const login = await users.login(
      cairn.v1.LoginRequest.create({ username: "carol", password: register.password }),
    );
    expect(login.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(login.expiresAtMs).toBe(node.nowMs + 24 * 3_600_000);
    const proposed = JSON.stringify(node.proposals);
    expect(proposed).not.toContain(register.password);
    expect(proposed).not.toContain(login.token);
    expect(proposed).toContain(tokenDigest(login.token ?? ""));
    const me = await users.me(
      cairn.v1.MeRequest.create(),
      await contextFor(deps, login.token ?? ""),
    );
    expect(me.user?.username).toBe("carol");
  });

  it("answers a wrong password and an unknown user alike, and proposes nothing", async () => {
    const node = new FakePlatformNode();
    const deps = platformDeps(node);
    const users = new UserHandlers(deps, { bootstrapPending: () => false });
    await users.register(cairn.v1.RegisterRequest.create(register), {
      metadata: new Metadata(),
      signal: new AbortController().signal,
    });
    const proposals = node.proposals.length;
    for (const username of ["carol", "nobody"]) {
      const refused = await statusOf(
        users.login(cairn.v1.LoginRequest.create({ username, password: "not the password" })),
      );
      expect(refused).toEqual({ code: status.UNAUTHENTICATED, details: WRONG_CREDENTIALS });
    }
    expect(node.proposals.length).toBe(proposals);
  });

  it("refuses bad input before hashing, and waits for the bootstrap admin", async () => {
    const node = new FakePlatformNode();
    const deps = platformDeps(node);
    const context = { metadata: new Metadata(), signal: new AbortController().signal };
    let pending = true;
    const users = new UserHandlers(deps, { bootstrapPending: () => pending });
    expect(
      await statusOf(
        users.register(
          cairn.v1.RegisterRequest.create({ ...register, password: "short" }),
          context,
        ),
      ),
    ).toEqual({
      code: status.INVALID_ARGUMENT,
      details: "user.password must be 10..1024 characters, got 5 characters",
    });
    expect(
      (
        await statusOf(
          users.register(
            cairn.v1.RegisterRequest.create({ ...register, roles: [7 as cairn.v1.Role] }),
            context,
          ),
        )
      ).details,
    ).toBe("user.roles[0] must be one of ROLE_ADMIN|ROLE_OPERATOR|ROLE_VIEWER, got 7");
    expect(
      (await statusOf(users.register(cairn.v1.RegisterRequest.create(register), context))).code,
    ).toBe(status.UNAVAILABLE);
    pending = false;
    expect(node.proposals).toEqual([]);
    await users.register(cairn.v1.RegisterRequest.create(register), context);
    expect(node.proposals).toHaveLength(1);
  });
});
