// The root network backend (`--net root`) against plain TCP echo servers run
// inside the members' namespaces: the wrap runs the real process (its PID is
// in the namespace, so signals reach it), the root namespace reaches every
// member, cut(a, b) blocks a→b (and, being a packet-level cut, TCP b→a too)
// while c→b still works, heal restores, 100 % loss drops, delay without netem
// is refused, and close() (or the exit handler) leaves nothing behind. Needs
// root, iproute2 and nftables; without them every test is skipped, saying why.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { connect } from "node:net";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { wrapCommand } from "../../cluster/process-cluster.js";
import { ROOT_NET_INSTALL, RootNet } from "../../jepsen-lite/net/root.js";

const availability = await RootNet.available();
if (!availability.ok) {
  console.warn(
    `harness-rootnet: skipped, the root network backend is not available here: ${availability.reason} (install with: ${ROOT_NET_INSTALL}, and run as root)`,
  );
}
const skip = !availability.ok;

const PORT = 7000;
const PROBE_MS = 1_500;
const NAMES = ["a", "b", "c"] as const;

/** Echoes and prints `got <peer address> <data>` for every chunk. */
const ECHO = `
const [host, port] = process.argv.slice(1);
require("node:net").createServer((s) => {
  s.on("error", () => {});
  s.on("data", (d) => { process.stdout.write("got " + s.remoteAddress + " " + d + "\\n"); s.write(d); });
}).listen(Number(port), host, () => process.stdout.write("listening\\n"));
`;

/** One message to host:port; prints `echo <data>`, `error <code>` or `timeout`. */
const PROBE = `
const [host, port, msg, ms] = process.argv.slice(1);
const s = require("node:net").connect(Number(port), host);
s.on("error", (e) => { console.log("error " + e.code); process.exit(0); });
s.on("connect", () => s.write(msg));
s.on("data", (d) => { console.log("echo " + d); process.exit(0); });
setTimeout(() => { console.log("timeout"); process.exit(0); }, Number(ms));
`;

let net: RootNet | null = null;
const servers = new Map<string, { child: ChildProcess; out: () => string }>();

function rootNet(): RootNet {
  if (net === null) throw new Error("no root net");
  return net;
}

function run(prefix: readonly string[], args: readonly string[]): ChildProcess {
  const [file, argv] = wrapCommand(prefix, process.execPath, args);
  return spawn(file, argv, { stdio: ["ignore", "pipe", "pipe"] });
}

/** A message from inside src's namespace to dst's echo server. */
function probe(src: string, dst: string, msg: string): Promise<string> {
  const child = run(rootNet().wrap(src), [
    "-e",
    PROBE,
    rootNet().host(dst),
    String(PORT),
    msg,
    String(PROBE_MS),
  ]);
  let out = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  return new Promise((done) => child.on("close", () => done(out.trim())));
}

/** A message from the root namespace (where the harness's clients run). */
function probeFromRoot(dst: string, msg: string): Promise<string> {
  return new Promise((done) => {
    const socket = connect(PORT, rootNet().host(dst));
    const timer = setTimeout(() => {
      socket.destroy();
      done("timeout");
    }, PROBE_MS);
    socket.on("error", (e: NodeJS.ErrnoException) => done(`error ${e.code}`));
    socket.on("connect", () => socket.write(msg));
    socket.on("data", (d) => {
      clearTimeout(timer);
      socket.destroy();
      done(`echo ${d}`);
    });
  });
}

function leftovers(tag: string): string[] {
  const text = [
    execFileSync("ip", ["netns", "list"], { encoding: "utf8" }),
    execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" }),
  ].join("\n");
  return text.split("\n").filter((line) => line.includes(tag));
}

describe("root network backend", () => {
  beforeAll(async () => {
    if (skip) return;
    net = await RootNet.start(NAMES);
    for (const name of NAMES) {
      const child = run(net.wrap(name), ["-e", ECHO, net.host(name), String(PORT)]);
      let out = "";
      child.stdout?.on("data", (chunk: Buffer) => {
        out += chunk.toString();
      });
      servers.set(name, { child, out: () => out });
    }
    const deadline = Date.now() + 15_000;
    while ([...servers.values()].some((s) => !s.out().includes("listening"))) {
      if (Date.now() > deadline) throw new Error("echo servers did not start");
      await new Promise((done) => setTimeout(done, 50));
    }
  });

  afterAll(async () => {
    for (const { child } of servers.values()) child.kill("SIGKILL");
    await net?.close();
  });

  it.skipIf(skip)(
    "runs each process in its namespace under the PID the harness signals",
    async () => {
      const net = rootNet();
      for (const name of NAMES) {
        const pid = servers.get(name)?.child.pid ?? 0;
        expect(realpathSync(`/proc/${pid}/exe`)).toBe(realpathSync(process.execPath));
        const inode = statSync(`/run/netns/${net.namespace(name)}`).ino;
        expect(readlinkSync(`/proc/${pid}/ns/net`)).toBe(`net:[${inode}]`);
      }
      const a = servers.get("a")?.child;
      const state = () => readFileSync(`/proc/${a?.pid}/stat`, "utf8").split(") ")[1]?.[0];
      /** Signals land asynchronously: the state once it has settled (or after 2 s). */
      const settled = async (stopped: boolean): Promise<string | undefined> => {
        for (let i = 0; i < 40 && (state() === "T") !== stopped; i++) {
          await new Promise((done) => setTimeout(done, 50));
        }
        return state();
      };
      try {
        a?.kill("SIGSTOP");
        expect(await settled(true)).toBe("T");
      } finally {
        a?.kill("SIGCONT");
      }
      expect(await settled(false)).not.toBe("T");
    },
  );

  it.skipIf(skip)("the root namespace reaches every member", async () => {
    for (const name of NAMES)
      expect(await probeFromRoot(name, `hi-${name}`)).toBe(`echo hi-${name}`);
  });

  it.skipIf(skip)(
    "cut(a, b) blocks a→b (TCP b→a stalls too) while c→b works; heal restores",
    async () => {
      const net = rootNet();
      expect(await probe("a", "b", "before")).toBe("echo before");
      await net.cut("a", "b");
      const [ab, cb, ba, rootB] = await Promise.all([
        probe("a", "b", "cut-ab"),
        probe("c", "b", "cut-cb"),
        probe("b", "a", "cut-ba"),
        probeFromRoot("b", "cut-root"),
      ]);
      expect(ab).toBe("timeout");
      expect(cb).toBe("echo cut-cb");
      // Packet level: b's SYN reaches a, but a's SYN-ACK is dropped on its way into b.
      expect(ba).toBe("timeout");
      expect(rootB).toBe("echo cut-root");
      const received = servers.get("b")?.out() ?? "";
      expect(received).toContain(`got ${net.host("c")} cut-cb`);
      expect(received).not.toContain("cut-ab");
      await net.heal();
      expect(await probe("a", "b", "healed")).toBe("echo healed");
    },
    30_000,
  );

  it.skipIf(skip)(
    "loss at 100 % drops a→b only; delay without netem is refused",
    async () => {
      const net = rootNet();
      await net.shape("a", "b", { delayMs: 0, jitterMs: 0, lossPct: 100 });
      const [ab, cb] = await Promise.all([
        probe("a", "b", "lossy-ab"),
        probe("c", "b", "lossy-cb"),
      ]);
      expect(ab).toBe("timeout");
      expect(cb).toBe("echo lossy-cb");
      await net.heal();
      expect(await probe("a", "b", "unlossy")).toBe("echo unlossy");
      if (!net.netem.ok) {
        await expect(
          net.shape("a", "b", { delayMs: 50, jitterMs: 10, lossPct: 0 }),
        ).rejects.toThrow(/delay needs tc netem.*failed with/);
      } else {
        await net.shape("a", "b", { delayMs: 50, jitterMs: 10, lossPct: 0 });
        expect(await probe("a", "b", "slow")).toBe("echo slow");
        await net.heal();
      }
    },
    30_000,
  );

  it.skipIf(skip)("close() deletes every namespace, veth and the bridge", async () => {
    const other = await RootNet.start(["x", "y"]);
    expect(leftovers(other.tag).length).toBeGreaterThan(0);
    await other.close();
    expect(leftovers(other.tag)).toEqual([]);
  });

  const DIST = resolve(import.meta.dirname, "..", "..", "dist", "jepsen-lite", "net", "root.js");
  it.skipIf(skip || !existsSync(DIST))(
    "a process that exits or gets SIGINT without close() cleans up anyway",
    async () => {
      const script = `const { RootNet } = await import(${JSON.stringify(DIST)});
const net = await RootNet.start(["x", "y"]);
console.log(net.tag);
if (process.argv[1] === "exit") process.exit(0);
setInterval(() => {}, 1000);`;
      for (const how of ["exit", "sigint"]) {
        const child = spawn(process.execPath, ["--input-type=module", "-e", script, how], {
          stdio: ["ignore", "pipe", "inherit"],
        });
        let tag = "";
        const tagged = new Promise<void>((done) =>
          child.stdout?.on("data", (chunk: Buffer) => {
            tag += chunk.toString();
            if (tag.includes("\n")) done();
          }),
        );
        const closed = new Promise<NodeJS.Signals | number | null>((done) =>
          child.on("close", (code, signal) => done(signal ?? code)),
        );
        await tagged;
        if (how === "sigint") child.kill("SIGINT");
        expect(await closed).toBe(how === "sigint" ? "SIGINT" : 0);
        expect(tag.trim()).toMatch(/^cj/);
        expect(leftovers(tag.trim())).toEqual([]);
      }
    },
    30_000,
  );
});
