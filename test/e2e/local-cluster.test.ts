// `npm start` (dist/cluster/local.js) end to end: it starts three members
// under --data-dir on free ports (--base-port), prints their endpoints, serves
// a put and a get; SIGINT stops every member and keeps the data, and a second
// start over the same data dir serves the key again.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LOCAL_HOST, LOCAL_MEMBER_PORT_STRIDE } from "../../cluster/ports.js";
import { Cairn } from "../../src/client/client.js";

const LAUNCHER = resolve(import.meta.dirname, "..", "..", "dist", "cluster", "local.js");
const SIZE = 3;
const BANNER_TIMEOUT_MS = 15_000;
const EXIT_TIMEOUT_MS = 8_000;

interface Launched {
  readonly child: ChildProcess;
  readonly endpoints: string[];
  readonly pids: number[];
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

function listen(port: number): Promise<Server | null> {
  return new Promise((done) => {
    const server = createServer();
    server.once("error", () => done(null));
    server.listen(port, LOCAL_HOST, () => done(server));
  });
}

/** A base port whose 3 members' client, peer and metrics ports are all free right now. */
async function freeBasePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    // Up to the launcher's highest base port (its 5th member's ports must exist).
    const base = 20_000 + Math.floor(Math.random() * 1_800) * 3;
    const ports = Array.from({ length: SIZE * 3 }, (_, i) => {
      const member = Math.floor(i / 3);
      return base + member * LOCAL_MEMBER_PORT_STRIDE + (i % 3);
    });
    const servers = await Promise.all(ports.map(listen));
    await Promise.all(
      servers.map((s) => (s === null ? null : new Promise((done) => s.close(done)))),
    );
    if (servers.every((s) => s !== null)) return base;
  }
  throw new Error("no free block of ports for the local cluster");
}

const started: Launched[] = [];

/** Runs the launcher and resolves once it printed every member's endpoints. */
async function launch(dataDir: string, basePort: number): Promise<Launched> {
  const child = spawn(
    process.execPath,
    [LAUNCHER, "--data-dir", dataDir, "--base-port", String(basePort)],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
  const banner = /^ {2}(n\d) {2}client (\S+) {2}peer \S+ {2}metrics \S+ {2}pid (\d+)$/gm;
  const deadline = Date.now() + BANNER_TIMEOUT_MS;
  let rows: RegExpMatchArray[] = [];
  while (rows.length < SIZE) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill("SIGKILL");
      throw new Error(`no endpoints printed:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
    rows = [...output.matchAll(banner)];
  }
  const launched = {
    child,
    endpoints: rows.map((r) => r[2] as string),
    pids: rows.map((r) => Number(r[3])),
    output: () => output,
    exited,
  };
  started.push(launched);
  return launched;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function interrupt(launched: Launched): Promise<number | null> {
  launched.child.kill("SIGINT");
  const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), EXIT_TIMEOUT_MS));
  const code = await Promise.race([launched.exited, timeout]);
  if (code === "timeout") throw new Error(`launcher did not exit:\n${launched.output()}`);
  return code;
}

describe("npm start: the local cluster launcher", { timeout: 30_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), "cairn-local-"));
  afterAll(() => {
    // Only what this test started: the launchers and the members they printed.
    for (const launched of started) {
      if (launched.child.exitCode === null) launched.child.kill("SIGKILL");
      for (const pid of launched.pids) if (alive(pid)) process.kill(pid, "SIGKILL");
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("serves, stops every member on SIGINT keeping the data, and starts again on it", async () => {
    const basePort = await freeBasePort();
    const first = await launch(dataDir, basePort);
    expect(first.output()).toMatch(/cairn: 3-member cluster ready in \d+ ms/);
    expect(first.endpoints).toEqual(
      [0, 1, 2].map((i) => `${LOCAL_HOST}:${basePort + i * LOCAL_MEMBER_PORT_STRIDE}`),
    );
    const client = new Cairn({ endpoints: first.endpoints, timeoutMs: 5_000 });
    try {
      await client.put("launcher-key", "kept");
      expect((await client.get("launcher-key"))?.value.toString()).toBe("kept");
    } finally {
      client.close();
    }

    expect(await interrupt(first)).toBe(0);
    for (const pid of first.pids) expect(alive(pid), `member pid ${pid}`).toBe(false);
    for (const name of ["n1", "n2", "n3"]) {
      expect(first.output()).toMatch(new RegExp(`^${name} exited \\(`, "m"));
      expect(existsSync(join(dataDir, name)), name).toBe(true);
    }
    expect(existsSync(join(dataDir, "cluster.json"))).toBe(true);

    const second = await launch(dataDir, basePort);
    const again = new Cairn({ endpoints: second.endpoints, timeoutMs: 5_000 });
    try {
      expect((await again.get("launcher-key"))?.value.toString()).toBe("kept");
    } finally {
      again.close();
    }
    expect(await interrupt(second)).toBe(0);
    for (const pid of second.pids) expect(alive(pid), `member pid ${pid}`).toBe(false);
  });
});
