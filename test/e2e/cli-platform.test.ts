// The `cairn` CLI as child processes against a real 3-member cluster: user
// register/login/me/logout with the token file (0600 in a 0700 dir), resource
// create/list/start/stop with tables and --json, clear errors for bad input
// and for not being logged in, the op log, and group join/list/locate
// (server and --local agree; a foreground join leaves on SIGTERM).
import { statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {
  Member,
  OpLogRecord,
  Resource,
  ResourceEvent,
  ResourceStats,
  User,
} from "../../src/client/types.js";
import { CliRunner, finished } from "./cli-run.js";
import { sleep, TestCluster } from "./harness.js";

const PASSWORD = "correct horse battery\n";
const SERVER_FLAGS = ["--kind", "server", "--region", "eu-west", "--image", "ubuntu:24.04"];
const SIZE_FLAGS = ["--cpu", "2", "--memory-mib", "2048", "--disk-gib", "20"];

describe("cairn CLI on a 3-member cluster", { timeout: 40_000 }, () => {
  let cluster: TestCluster;
  let cli: CliRunner;

  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3 });
    await cluster.waitForLeader(10_000);
    cli = new CliRunner(cluster);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("registers, refuses before login, logs in and saves the token privately", async () => {
    const register = await cli.run(
      ["user", "register", "admin", "--email", "admin@example.com", "--password-stdin"],
      PASSWORD,
    );
    expect(register.stderr).toBe("");
    expect(register.stdout).toMatch(/registered admin \(admin\)/);
    const before = await cli.run(["user", "me"]);
    expect(before.code).toBe(1);
    expect(before.stderr).toMatch(/^cairn: not logged in: run `cairn user login USERNAME`/);
    const noPassword = await cli.run(["user", "login", "admin"]);
    expect(noPassword.code).toBe(1);
    expect(noPassword.stderr).toMatch(/--password-stdin or set CAIRN_PASSWORD/);
    const wrong = await cli.run(
      ["user", "login", "admin", "--password-stdin"],
      "wrong password!!\n",
    );
    expect(wrong.code).toBe(1);
    const login = await cli.run(["user", "login", "admin", "--password-stdin"], PASSWORD);
    expect(login.stdout).toMatch(/logged in as admin \(admin\) until \d{4}-/);
    const dir = join(cli.configHome, "cairn");
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "token")).mode & 0o777).toBe(0o600);
    const me = await cli.json<User>(["user", "me"]);
    expect(me).toMatchObject({ username: "admin", roles: ["admin"], email: "admin@example.com" });
    const table = await cli.run(["user", "me"]);
    expect(table.stdout).toMatch(/^FIELD\s+VALUE\n-+\s+-+\nusername\s+admin\n/);
    const users = await cli.json<User[]>(["user", "list"]);
    expect(users.map((u) => u.username)).toEqual(["admin"]);
  });

  it("creates, lists, starts and stops resources; bad input gets a clear error", async () => {
    const created = await cli.json<Resource>([
      "resource",
      "create",
      "web-1",
      ...SERVER_FLAGS,
      ...SIZE_FLAGS,
      "--label",
      "env=prod",
    ]);
    expect(created).toMatchObject({
      name: "web-1",
      kind: "server",
      status: "provisioning",
      labels: { env: "prod" },
      server: { cpu: 2, hostname: "web-1" },
    });
    await cli.json<Resource>(["resource", "create", "web-2", ...SERVER_FLAGS, ...SIZE_FLAGS]);
    const listed = await cli.json<Resource[]>(["resource", "list", "--name-contains", "web-"]);
    expect(listed.map((r) => r.name)).toEqual(["web-1", "web-2"]);
    const paged = await cli.json<Resource[]>(["resource", "list", "--page-size", "1", "--desc"]);
    // A serializable listing reads one member's state, which may lag: only its shape is certain.
    expect(Array.isArray(await cli.json(["resource", "list", "--serializable"]))).toBe(true);
    expect(paged.map((r) => r.name)).toEqual(["web-2", "web-1"]);
    const table = await cli.run(["resource", "list"]);
    expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+NAME\s+KIND\s+STATUS/);
    expect(table.stdout).toMatch(new RegExp(`${created.id}\\s+web-1\\s+server\\s+provisioning`));

    // Watch from the next op-log sequence: no race with the watcher's start-up.
    const [newest] = await cli.json<OpLogRecord[]>(["log", "--limit", "1"]);
    const since = String((newest?.sequence ?? 0) + 1);
    const watcher = cli.spawn([
      "--json",
      "resource",
      "watch",
      "--id",
      created.id,
      "--since",
      since,
      "--count",
      "2",
    ]);
    const watched = finished(watcher);
    const started = await cli.run(["resource", "start", created.id, "--reason", "go live"]);
    expect(started.stdout).toBe(`${created.id} running (version 2)\n`);
    const stopped = await cli.json<Resource>(["resource", "stop", created.id]);
    expect(stopped.status).toBe("stopped");
    const events = (await watched).stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as ResourceEvent);
    expect(events.map((e) => [e.type, e.prev?.status, e.resource.status])).toEqual([
      ["updated", "provisioning", "running"],
      ["updated", "running", "stopped"],
    ]);
    const updated = await cli.json<Resource>(["resource", "update", created.id, "--cpu", "4"]);
    expect(updated).toMatchObject({ version: 4, server: { cpu: 4, memoryMib: 2048 } });

    const badCpu = await cli.run([
      "resource",
      "create",
      "x",
      ...SERVER_FLAGS,
      ...SIZE_FLAGS,
      "--cpu",
      "0",
    ]);
    expect(badCpu.code).toBe(1);
    expect(badCpu.stderr).toBe(
      "cairn: INVALID_ARGUMENT: resource.spec.cpu must be 1..512, got 0\n",
    );
    const notNumber = await cli.run([
      "resource",
      "create",
      "x",
      ...SERVER_FLAGS,
      ...SIZE_FLAGS,
      "--cpu",
      "two",
    ]);
    expect(notNumber.stderr).toMatch(/--cpu must be an integer .*got "two"/);
    const badKind = await cli.run([
      "resource",
      "create",
      "x",
      "--kind",
      "vm",
      "--region",
      "eu-west",
    ]);
    expect(badKind.stderr).toMatch(/--kind must be one of server\|database, got "vm"/);
    const missing = await cli.run(["resource", "get", "srv-999999"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^cairn: NOT_FOUND: /);
    const illegal = await cli.run(["resource", "restart", created.id]);
    expect(illegal.stderr).toMatch(/^cairn: FAILED_PRECONDITION: .*stopped/i);

    const log = await cli.json<OpLogRecord[]>(["log", "--resource", created.id]);
    expect(log.map((r) => r.action)).toEqual([
      "resource.create",
      "resource.start",
      "resource.stop",
      "resource.update",
      "resource.restart",
    ]);
    expect(log.every((r) => r.actor === "admin")).toBe(true);
    const recent = await cli.run(["log", "--since", "10m", "--limit", "2"]);
    expect(recent.stdout.split("\n")[0]).toMatch(/^SEQ\s+TIME\s+ACTOR\s+ACTION\s+TARGET\s+OUTCOME/);
    expect(recent.stdout.trim().split("\n")).toHaveLength(4);
    // --follow prints the newest record, then new ones as they happen.
    const follower = cli.spawn([
      "--json",
      "log",
      "--limit",
      "1",
      "--follow",
      "--action",
      "resource.create",
    ]);
    let followed = "";
    follower.stdout?.on("data", (chunk: Buffer) => {
      followed += chunk.toString();
    });
    const followerDone = finished(follower);
    for (let i = 0; i < 400 && !followed.includes("\n"); i++) await sleep(25);
    await cli.json<Resource>(["resource", "create", "web-3", ...SERVER_FLAGS, ...SIZE_FLAGS]);
    for (let i = 0; i < 400 && followed.split("\n").length < 3; i++) await sleep(25);
    follower.kill("SIGTERM");
    expect((await followerDone).code).toBe(0);
    const followedRecords = followed
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as OpLogRecord);
    expect(followedRecords.map((r) => r.action)).toEqual(["resource.create", "resource.create"]);
    expect(followedRecords[1]?.after).toMatchObject({ name: "web-3" });
    const badSince = await cli.run(["log", "--since", "yesterday"]);
    expect(badSince.stderr).toMatch(/--since must be a duration ago/);
  });

  it("joins members, lists and locates (server and local agree), leaves on SIGTERM", async () => {
    const joiner = cli.spawn([
      "group",
      "join",
      "web",
      "n1",
      "--address",
      "10.0.0.1:80",
      "--ttl",
      "5",
    ]);
    let joinerOut = "";
    joiner.stdout?.on("data", (chunk: Buffer) => {
      joinerOut += chunk.toString();
    });
    const joinerDone = finished(joiner);
    const detached = await cli.run([
      "group",
      "join",
      "web",
      "n2",
      "--address",
      "10.0.0.2:80",
      "--weight",
      "3",
      "--detach",
      "--meta",
      "zone=b",
    ]);
    expect(detached.stderr).toBe("");
    expect(detached.stdout).toMatch(/^joined web as n2 \(lease [0-9a-f]+/);
    for (let i = 0; i < 200 && !joinerOut.includes("joined web as n1"); i++) await sleep(25);
    const members = await cli.json<Member[]>(["group", "list", "web"]);
    expect(members.map((m) => [m.memberId, m.weight])).toEqual([
      ["n1", 1],
      ["n2", 3],
    ]);
    for (const key of ["alpha", "beta", "gamma", "delta"]) {
      const server = await cli.json<{ owners: Member[] }>([
        "group",
        "locate",
        "web",
        key,
        "--replicas",
        "2",
      ]);
      const local = await cli.json<{ owners: Member[] }>([
        "group",
        "locate",
        "web",
        key,
        "--replicas",
        "2",
        "--local",
      ]);
      expect(local.owners.map((m) => m.memberId)).toEqual(server.owners.map((m) => m.memberId));
      expect(server.owners).toHaveLength(2);
    }
    joiner.kill("SIGTERM");
    const result = await joinerDone;
    expect(result.code).toBe(0);
    expect(joinerOut).toMatch(/left web/);
    const after = await cli.json<Member[]>(["group", "list", "web"]);
    expect(after.map((m) => m.memberId)).toEqual(["n2"]);
    const left = await cli.run(["group", "leave", "web", "n2"]);
    // stderr too, so a failure says why the leave printed nothing.
    expect({ stdout: left.stdout, stderr: left.stderr }).toEqual({
      stdout: "n2 left web\n",
      stderr: "",
    });
  });

  it("cairn member join|leave|locate and list --group are the group commands", async () => {
    for (const [id, weight] of [
      ["a1", "1"],
      ["a2", "2"],
    ] as const) {
      const joined = await cli.run([
        "member",
        "join",
        "api",
        id,
        "--address",
        `10.0.1.${weight}:80`,
        "--weight",
        weight,
        "--detach",
      ]);
      expect(joined.stderr).toBe("");
      expect(joined.stdout).toMatch(new RegExp(`^joined api as ${id} \\(lease [0-9a-f]+`));
    }
    const members = await cli.json<Member[]>(["member", "list", "--group", "api"]);
    expect(members.map((m) => [m.memberId, m.weight])).toEqual([
      ["a1", 1],
      ["a2", 2],
    ]);
    expect(await cli.json<Member[]>(["group", "list", "api"])).toEqual(members);
    const table = await cli.run(["member", "list", "--group", "api"]);
    expect(table.stdout.split("\n")[0]).toMatch(/^MEMBER\s+ADDRESS\s+WEIGHT/);
    for (const key of ["alpha", "beta", "gamma"]) {
      const viaMember = await cli.json<{ owners: Member[] }>(["member", "locate", "api", key]);
      const viaGroup = await cli.json<{ owners: Member[] }>(["group", "locate", "api", key]);
      expect(viaMember.owners).toHaveLength(1);
      expect(viaMember.owners.map((m) => m.memberId)).toEqual(
        viaGroup.owners.map((m) => m.memberId),
      );
    }
    const left = await cli.run(["member", "leave", "api", "a1"]);
    expect(left.stdout).toBe("a1 left api\n");
    const after = await cli.json<Member[]>(["member", "list", "--group", "api"]);
    expect(after.map((m) => m.memberId)).toEqual(["a2"]);
    // Without --group, member list is still the Raft membership.
    const raft = await cli.json<Array<{ name: string }>>(["member", "list"]);
    expect(raft.map((m) => m.name).sort()).toEqual(["n1", "n2", "n3"]);
  });

  it("installs software, deletes, sums up with stats, and filters the op log by actor", async () => {
    const register = await cli.run(
      ["user", "register", "ops-1", "--email", "ops@example.com", "--role", "operator"],
      undefined,
    );
    expect(register.code).toBe(1);
    expect(register.stderr).toMatch(/--password-stdin or set CAIRN_PASSWORD/);
    const registered = await cli.run(
      [
        "user",
        "register",
        "ops-1",
        "--email",
        "ops@example.com",
        "--role",
        "operator",
        "--password-stdin",
      ],
      PASSWORD,
    );
    expect(registered.stdout).toMatch(/registered ops-1 \(operator\)/);
    const ops = new CliRunner(cluster);
    expect((await ops.run(["user", "login", "ops-1", "--password-stdin"], PASSWORD)).code).toBe(0);

    const east = ["--region", "us-east"];
    const app = await ops.json<Resource>([
      "resource",
      "create",
      "app-1",
      ...SERVER_FLAGS.filter((f) => f !== "--region" && f !== "eu-west"),
      ...east,
      ...SIZE_FLAGS,
    ]);
    const db = await ops.json<Resource>([
      "resource",
      "create",
      "db-1",
      "--kind",
      "database",
      ...east,
      "--engine",
      "postgresql",
      "--db-version",
      "16",
      "--cpu",
      "8",
      "--memory-mib",
      "16384",
      "--disk-gib",
      "100",
    ]);
    expect(db).toMatchObject({
      kind: "database",
      owner: "ops-1",
      database: { engine: "postgresql" },
    });

    const startedApp = await ops.json<Resource>(["resource", "start", app.id]);
    const installed = await ops.run(["resource", "install", app.id, "nginx", "1.27.0"]);
    expect(installed.stderr).toBe("");
    expect(installed.stdout).toBe(`${app.id}: installed nginx@1.27.0\n`);
    const withNginx = await ops.json<Resource>(["resource", "get", app.id]);
    expect(withNginx.installedSoftware.map((s) => [s.name, s.version])).toEqual([
      ["nginx", "1.27.0"],
    ]);
    // Replayed from the start's revision: the start and the install.
    const replayed = await ops.run([
      "--json",
      "resource",
      "watch",
      "--id",
      app.id,
      "--since-revision",
      String(startedApp.modRevision),
      "--count",
      "2",
    ]);
    expect(replayed.stderr).toBe("");
    const replayedEvents = replayed.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as ResourceEvent);
    expect(
      replayedEvents.map((e) => [
        e.revision,
        e.resource.status,
        e.resource.installedSoftware.length,
      ]),
    ).toEqual([
      [startedApp.modRevision, "running", 0],
      [withNginx.modRevision, "running", 1],
    ]);
    const notRunning = await ops.run(["resource", "install", db.id, "pgbouncer", "1.23"]);
    expect(notRunning.code).toBe(1);
    expect(notRunning.stderr).toMatch(/^cairn: FAILED_PRECONDITION: .*provisioning/i);

    const deleteRunning = await ops.run(["resource", "delete", app.id]);
    expect(deleteRunning.code).toBe(1);
    expect(deleteRunning.stderr).toMatch(/^cairn: FAILED_PRECONDITION: .*running/i);
    await ops.json<Resource>(["resource", "stop", app.id]);
    const deleted = await ops.run(["resource", "delete", app.id, "--reason", "retired"]);
    expect(deleted.stderr).toBe("");
    expect(deleted.stdout).toMatch(new RegExp(`^${app.id} deleted \\(version \\d+\\)\n$`));
    expect((await ops.json<Resource>(["resource", "get", app.id])).status).toBe("deleted");

    // Deleted resources are counted by status (the state machine's upper-case names) but left
    // out of the sums.
    const stats = await ops.json<ResourceStats>(["resource", "stats", ...east]);
    expect(stats).toMatchObject({
      total: 2,
      byKind: { database: 1, server: 1 },
      byStatus: { DELETED: 1, PROVISIONING: 1 },
      byRegion: { "us-east": 2 },
      byOwner: { "ops-1": 2 },
      cpuTotal: 8,
      memoryMibTotal: 16384,
      diskGibTotal: 100,
    });
    const statsTable = await ops.run(["resource", "stats", ...east, "--kind", "database"]);
    expect(statsTable.stdout).toMatch(/^FIELD\s+VALUE\n/);
    expect(statsTable.stdout).toMatch(/\ntotal\s+1\n/);
    expect(statsTable.stdout).toMatch(/\ncpu total\s+8\n/);

    const byOps = await cli.json<OpLogRecord[]>(["log", "--actor", "ops-1"]);
    // Refused attempts are recorded too, with their outcome.
    expect(byOps.map((r) => [r.action, r.outcome === "ok" ? "ok" : "refused"])).toEqual([
      ["user.login", "ok"],
      ["resource.create", "ok"],
      ["resource.create", "ok"],
      ["resource.start", "ok"],
      ["resource.install", "ok"],
      ["resource.install", "refused"],
      ["resource.delete", "refused"],
      ["resource.stop", "ok"],
      ["resource.delete", "ok"],
    ]);
    expect(byOps.every((r) => r.actor === "ops-1")).toBe(true);
    const byAdmin = await cli.json<OpLogRecord[]>(["log", "--actor", "admin", "--limit", "1000"]);
    expect(byAdmin.length).toBeGreaterThan(0);
    expect(byAdmin.every((r) => r.actor === "admin")).toBe(true);
    expect(byAdmin.map((r) => r.action)).toContain("user.register");
    const table = await cli.run(["log", "--actor", "ops-1", "--limit", "1"]);
    expect(table.stdout).toMatch(/\n\d+\s+\S+\s+ops-1\s+resource\.delete\s+/);
  });

  it("logs out: the token file is gone and commands ask for a login again", async () => {
    const logout = await cli.run(["user", "logout"]);
    expect(logout.stdout).toBe("logged out\n");
    expect(() => statSync(join(cli.configHome, "cairn", "token"))).toThrow();
    const me = await cli.run(["user", "me"]);
    expect(me.code).toBe(1);
    expect(me.stderr).toMatch(/not logged in/);
    // The etcd commands need no login.
    expect((await cli.run(["put", "greeting", "hello"])).stdout).toBe("OK\n");
    expect((await cli.run(["get", "greeting"])).stdout).toBe("greeting\nhello\n");
    const status = await cli.json<{ name: string; role: string }[]>(["status"]);
    expect(status.map((s) => s.name).sort()).toEqual(["n1", "n2", "n3"]);
    expect(status.filter((s) => s.role === "leader")).toHaveLength(1);
  });

  it("lists the Raft members, adds a learner with a start hint, removes it", async () => {
    const list = await cli.json<Array<{ name: string; isLearner: boolean }>>(["member", "list"]);
    expect(list.map((m) => m.name).sort()).toEqual(["n1", "n2", "n3"]);
    const added = await cli.run([
      "member",
      "add",
      "n9",
      "--peer-urls",
      "http://127.0.0.1:9",
      "--learner",
    ]);
    expect(added.stderr).toBe("");
    expect(added.stdout).toMatch(/^Member [0-9a-f]+ added to the cluster as a learner\./);
    expect(added.stdout).toContain("--initial-cluster-state existing");
    expect(added.stdout).toMatch(/--initial-cluster .*n9=127\.0\.0\.1:9/);
    const id = /^Member ([0-9a-f]+)/.exec(added.stdout)?.[1] ?? "";
    const table = await cli.run(["member", "list"]);
    expect(table.stdout).toMatch(new RegExp(`${id}\\s+unstarted`));
    const promote = await cli.run(["member", "promote", id]);
    expect(promote.code).toBe(1);
    expect(promote.stderr).toContain(
      "can only promote a learner member which is in sync with leader",
    );
    const removed = await cli.run(["member", "remove", id]);
    expect(removed.stdout).toContain(`Member ${id} removed.`);
    const unknown = await cli.run(["member", "remove", "nobody"]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/no member named or with id "nobody"/);
  });
});
