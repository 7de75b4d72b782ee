// cairn.v1.Users on a real 3-member cluster over raw gRPC: the first user
// becomes admin, tokens verify on every member at once and on none after
// Logout, role checks per role, password rules, the last admin, and the
// --admin-password bootstrap; no password ever reaches a member's log or the op log.

import { readFileSync } from "node:fs";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cairn } from "../../src/gen/cairn.js";
import { OPLOG_SERVICE } from "../../src/server/platform/oplog.js";
import { RESOURCES_SERVICE } from "../../src/server/platform/resources.js";
import { USERS_SERVICE } from "../../src/server/platform/users.js";
import { callUnary } from "../../src/transport/grpc-codec.js";
import { sleep, TestCluster } from "./harness.js";
import {
  bearer,
  Channels,
  expectStatus,
  logIn,
  PASSWORD,
  type Session,
  serverSpec,
  signUp,
} from "./platform-helpers.js";

const { ROLE_ADMIN, ROLE_OPERATOR, ROLE_VIEWER } = cairn.v1.Role;

describe("cairn.v1 Users on a 3-member cluster", { timeout: 40_000 }, () => {
  let cluster: TestCluster;
  let channels: Channels;
  let admin: Session;
  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3 });
    await cluster.waitForLeader(10_000);
    channels = new Channels(cluster);
  });
  afterAll(async () => {
    channels?.close();
    await cluster?.stop();
  });

  it("makes the first user an admin and later ones viewers", async () => {
    admin = await signUp(channels, "alice");
    const me = await admin.call(USERS_SERVICE.Me, {}, 1);
    expect(me.user?.username).toBe("alice");
    expect(me.user?.roles).toEqual([ROLE_ADMIN]);
    const bob = await signUp(channels, "bob", { member: 2 });
    expect((await bob.call(USERS_SERVICE.Me, {}, 0)).user?.roles).toEqual([ROLE_VIEWER]);
    await expectStatus(
      callUnary(channels.via(1), USERS_SERVICE.Register, {
        username: "bob",
        password: PASSWORD,
        email: "bob@example.com",
      }),
      status.ALREADY_EXISTS,
      /user bob already exists/,
    );
  });

  it("refuses calls without a valid token with a hint to log in", async () => {
    await expectStatus(
      callUnary(channels.via(0), USERS_SERVICE.Me, {}),
      status.UNAUTHENTICATED,
      /cairn user login/,
    );
    await expectStatus(
      callUnary(channels.via(1), USERS_SERVICE.Me, {}, {}, bearer("not-a-real-token")),
      status.UNAUTHENTICATED,
      /invalid, expired or logged out; log in with `cairn user login` again/,
    );
  });

  it("verifies a token on every member at once, and on none after Logout", async () => {
    await signUp(channels, "carol", { member: 1 });
    const carol = await logIn(channels, "carol", 2);
    for (const member of [0, 1, 2]) {
      expect((await carol.call(USERS_SERVICE.Me, {}, member)).user?.username).toBe("carol");
    }
    await carol.call(USERS_SERVICE.Logout, {}, 1);
    for (const member of [0, 1, 2]) {
      await expectStatus(carol.call(USERS_SERVICE.Me, {}, member), status.UNAUTHENTICATED);
    }
  });

  it("checks roles: viewers read, operators change resources, admins manage users", async () => {
    const olga = await signUp(channels, "olga", { by: admin, roles: [ROLE_OPERATOR] });
    const vera = await signUp(channels, "vera", { member: 1 });
    const create = { name: "web-1", region: "eu-west", server: serverSpec() };
    await expectStatus(
      vera.call(RESOURCES_SERVICE.Create, create, 2),
      status.PERMISSION_DENIED,
      /user vera \(viewer\) may not resource\.write/,
    );
    const created = await olga.call(RESOURCES_SERVICE.Create, create, 2);
    const id = created.resource?.id ?? "";
    expect((await vera.call(RESOURCES_SERVICE.Get, { id }, 0)).resource?.name).toBe("web-1");
    await olga.call(RESOURCES_SERVICE.Update, { id, expectedVersion: 1, category: "web" }, 1);
    await expectStatus(olga.call(USERS_SERVICE.List, {}, 0), status.PERMISSION_DENIED);
    await expectStatus(
      olga.call(USERS_SERVICE.Register, {
        username: "mallory",
        password: PASSWORD,
        email: "m@example.com",
        roles: [ROLE_ADMIN],
      }),
      status.PERMISSION_DENIED,
    );
    await expectStatus(
      vera.call(USERS_SERVICE.Get, { username: "olga" }),
      status.PERMISSION_DENIED,
    );
    expect((await admin.call(USERS_SERVICE.Get, { username: "olga" }, 2)).user?.roles).toEqual([
      ROLE_OPERATOR,
    ]);
    // A role change applies to the next call, without a new login.
    await admin.call(USERS_SERVICE.Update, { username: "vera", roles: { roles: [ROLE_OPERATOR] } });
    await vera.call(RESOURCES_SERVICE.Create, { ...create, name: "web-2" }, 2);
  });

  it("pages through users in username order", async () => {
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await admin.call(USERS_SERVICE.List, { pageSize: 2, pageToken }, seen.length);
      expect(page.users.length).toBeLessThanOrEqual(2);
      seen.push(...page.users.map((u) => u.username ?? ""));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(seen).toEqual([...seen].sort());
    expect(seen).toEqual(expect.arrayContaining(["alice", "bob", "carol", "olga", "vera"]));
  });

  it("checks passwords: rules before hashing, one answer for a wrong user or password", async () => {
    await expectStatus(
      callUnary(channels.via(0), USERS_SERVICE.Register, {
        username: "dave",
        password: "short",
        email: "dave@example.com",
      }),
      status.INVALID_ARGUMENT,
      /user\.password must be 10\.\.1024 characters, got 5 characters/,
    );
    for (const username of ["bob", "nobody"]) {
      await expectStatus(
        callUnary(channels.via(1), USERS_SERVICE.Login, { username, password: "wrong password!" }),
        status.UNAUTHENTICATED,
        /^wrong username or password$/,
      );
    }
  });

  it("ends every session of a user whose password changes", async () => {
    const first = await signUp(channels, "erin");
    const second = await logIn(channels, "erin", 2);
    const changed = await first.call(
      USERS_SERVICE.Update,
      { password: "a brand new passphrase" },
      1,
    );
    expect(changed.sessionsRevoked).toBe(2);
    await expectStatus(second.call(USERS_SERVICE.Me, {}, 0), status.UNAUTHENTICATED);
    const login = await callUnary(channels.via(0), USERS_SERVICE.Login, {
      username: "erin",
      password: "a brand new passphrase",
    });
    expect(login.token).not.toBe("");
  });

  it("never deletes or demotes the last admin", async () => {
    await expectStatus(
      admin.call(USERS_SERVICE.Delete, { username: "alice" }),
      status.FAILED_PRECONDITION,
      /last admin/,
    );
    await expectStatus(
      admin.call(USERS_SERVICE.Update, { username: "alice", roles: { roles: [ROLE_VIEWER] } }),
      status.FAILED_PRECONDITION,
      /last admin/,
    );
    const deleted = await admin.call(USERS_SERVICE.Delete, { username: "bob" }, 2);
    expect(deleted.header?.revision).toBeGreaterThan(0);
    await expectStatus(admin.call(USERS_SERVICE.Get, { username: "bob" }), status.NOT_FOUND);
  });
});

describe("--admin-password bootstraps the first admin", { timeout: 30_000 }, () => {
  let cluster: TestCluster;
  let channels: Channels;
  beforeAll(async () => {
    cluster = await TestCluster.start({
      size: 3,
      // The most verbose log level, so that "never logged" covers every log line.
      extraArgs: ["--admin-password", "bootstrap secret 42", "--log-level", "trace"],
    });
    await cluster.waitForLeader(10_000);
    channels = new Channels(cluster);
  });
  afterAll(async () => {
    channels?.close();
    await cluster?.stop();
  });

  it("creates `admin` with that password; a later registration is a viewer", async () => {
    const deadline = Date.now() + 10_000;
    let token = "";
    while (token === "") {
      try {
        const login = await callUnary(channels.via(1), USERS_SERVICE.Login, {
          username: "admin",
          password: "bootstrap secret 42",
        });
        token = login.token;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(100);
      }
    }
    const me = await callUnary(channels.via(2), USERS_SERVICE.Me, {}, {}, bearer(token));
    expect(me.user?.roles).toEqual([ROLE_ADMIN]);
    const user = await callUnary(channels.via(0), USERS_SERVICE.Register, {
      username: "first-human",
      password: PASSWORD,
      email: "human@example.com",
    });
    expect(user.user?.roles).toEqual([ROLE_VIEWER]);
  });

  it("never writes a password to a member's log or to the op log", async () => {
    const secrets = ["bootstrap secret 42", "Zq-unlogged-9317-pw", "Wr0ng-9317-guess", "Sh0rt-931"];
    const [, registered, wrong, short] = secrets as [string, string, string, string];
    await callUnary(channels.via(0), USERS_SERVICE.Register, {
      username: "quiet",
      password: registered,
      email: "quiet@example.com",
    });
    const login = await callUnary(channels.via(1), USERS_SERVICE.Login, {
      username: "quiet",
      password: registered,
    });
    expect(login.token).not.toBe("");
    await expectStatus(
      callUnary(channels.via(2), USERS_SERVICE.Login, { username: "quiet", password: wrong }),
      status.UNAUTHENTICATED,
    );
    await expectStatus(
      callUnary(channels.via(2), USERS_SERVICE.Register, {
        username: "shorty",
        password: short,
        email: "shorty@example.com",
      }),
      status.INVALID_ARGUMENT,
    );
    const admin = await callUnary(channels.via(0), USERS_SERVICE.Login, {
      username: "admin",
      password: "bootstrap secret 42",
    });
    const oplog = await callUnary(
      channels.via(0),
      OPLOG_SERVICE.List,
      { pageSize: 500 },
      {},
      bearer(admin.token),
    );
    const actions = oplog.records.map((r) => r.action);
    expect(actions).toContain("user.register");
    expect(actions).toContain("user.login");
    const recorded = JSON.stringify(oplog.records);
    const logs = cluster.members.map((m) => readFileSync(m.logFile, "utf8"));
    // The logs are real: each member logged its start, at the most verbose level.
    for (const log of logs) expect(log).toContain('"msg":"serving"');
    for (const secret of secrets) {
      expect(recorded).not.toContain(secret);
      for (const log of logs) expect(log).not.toContain(secret);
    }
  });
});
