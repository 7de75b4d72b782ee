// `cairn lock NAME -- command` as child processes on a real 3-member
// cluster: concurrent runs never overlap and see growing fencing tokens in
// CAIRN_LOCK_TOKEN, the command's exit code comes back, the lock is free
// afterwards, and a fenced resource write from inside the lock works while a
// stale token is refused.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cairn } from "../../src/client/client.js";
import type { Resource } from "../../src/client/types.js";
import { CLI, CliRunner, finished } from "./cli-run.js";
import { TestCluster } from "./harness.js";

const PASSWORD = "correct horse battery\n";

/** A critical section that logs its entry and exit with a pause between. */
const SECTION = `
const { appendFileSync } = require("node:fs");
const file = process.argv[1];
appendFileSync(file, "enter " + process.env.CAIRN_LOCK_NAME + " " + process.env.CAIRN_LOCK_TOKEN + "\\n");
setTimeout(() => appendFileSync(file, "exit\\n"), 300);
`;

describe("cairn lock on a 3-member cluster", { timeout: 40_000 }, () => {
  let cluster: TestCluster;
  let cli: CliRunner;

  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3 });
    await cluster.waitForLeader(10_000);
    cli = new CliRunner(cluster);
    await cli.run(
      ["user", "register", "ops", "--email", "ops@example.com", "--password-stdin"],
      PASSWORD,
    );
    const login = await cli.run(["user", "login", "ops", "--password-stdin"], PASSWORD);
    expect(login.code).toBe(0);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("never lets two concurrent runs overlap, and hands out growing tokens", async () => {
    const journal = join(cli.configHome, "journal.txt");
    writeFileSync(journal, "");
    const RUNS = 4;
    const results = await Promise.all(
      Array.from({ length: RUNS }, () =>
        cli.run(["lock", "deploy", "--ttl", "5", "--", process.execPath, "-e", SECTION, journal]),
      ),
    );
    for (const result of results) {
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
    }
    const lines = readFileSync(journal, "utf8").trim().split("\n");
    expect(lines).toHaveLength(2 * RUNS);
    const tokens: number[] = [];
    for (let i = 0; i < lines.length; i += 2) {
      const [word, name, token] = (lines[i] as string).split(" ");
      expect([word, name]).toEqual(["enter", "deploy"]);
      expect(lines[i + 1]).toBe("exit"); // no other run entered before this one left
      tokens.push(Number(token));
    }
    expect(tokens.every((t) => t > 0)).toBe(true);
    expect([...tokens].sort((a, b) => a - b)).toEqual(tokens);
    expect(new Set(tokens).size).toBe(RUNS);
  });

  it("exits with the command's exit code and releases the lock", async () => {
    const failing = await cli.run([
      "lock",
      "exit-code",
      "--",
      process.execPath,
      "-e",
      "process.exit(7)",
    ]);
    expect(failing.code).toBe(7);
    const missing = await cli.run(["lock", "exit-code", "--", "/nonexistent/command"]);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/^cairn: cannot run \/nonexistent\/command/);
    const noCommand = await cli.run(["lock", "exit-code"]);
    expect(noCommand.code).toBe(1);
    expect(noCommand.stderr).toMatch(/no command given/);
    const killed = await cli.run([
      "lock",
      "exit-code",
      "--",
      process.execPath,
      "-e",
      "process.kill(process.pid, 'SIGTERM')",
    ]);
    expect(killed.code).toBe(128 + 15);
    const client = new Cairn({ endpoints: cluster.members.map((m) => m.client) });
    try {
      client.token = readFileSync(join(cli.configHome, "cairn", "token"), "utf8").trim();
      expect((await client.locks.get("exit-code")).held).toBe(false);
    } finally {
      client.close();
    }
  });

  it("lets the command write with the exported fence; a passed-on token is refused", async () => {
    const resource = await cli.json<Resource>([
      "resource",
      "create",
      "db-1",
      "--kind",
      "database",
      "--region",
      "eu-west",
      "--engine",
      "postgresql",
      "--db-version",
      "16",
      "--cpu",
      "2",
      "--memory-mib",
      "4096",
      "--disk-gib",
      "50",
    ]);
    // Inside the lock: `cairn resource update … --fence-lock $CAIRN_LOCK_NAME --fence-token $CAIRN_LOCK_TOKEN`.
    const inner = [
      CLI,
      ...cli
        .args([
          "resource",
          "update",
          resource.id,
          "--label",
          "migrated=yes",
          "--fence-lock",
          "migrate",
          "--fence-token",
        ])
        .slice(1),
    ];
    const script = `
      const { execFileSync } = require("node:child_process");
      const args = JSON.parse(process.argv[1]);
      execFileSync(process.execPath, [...args, process.env.CAIRN_LOCK_TOKEN], { stdio: "inherit" });
      console.log("token=" + process.env.CAIRN_LOCK_TOKEN);
    `;
    const run = cli.spawn([
      "lock",
      "migrate",
      "--",
      process.execPath,
      "-e",
      script,
      JSON.stringify(inner),
    ]);
    const result = await finished(run);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const token = /token=(\d+)/.exec(result.stdout)?.[1] as string;
    const after = await cli.json<Resource>(["resource", "get", resource.id]);
    expect(after.labels).toEqual({ migrated: "yes" });
    const stale = await cli.run([
      "resource",
      "update",
      resource.id,
      "--label",
      "migrated=twice",
      "--fence-lock",
      "migrate",
      "--fence-token",
      token,
    ]);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/^cairn: ABORTED: /);
  });
});
