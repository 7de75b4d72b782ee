// The "root" network backend: real packet-level faults. Needs root, iproute2
// and nftables; delay also needs the kernel's tc netem.
//
// Layout: one network namespace per member (`<tag>-<name>`), each with a veth
// (`<tag>n<k>` inside, `<tag>h<k>` outside) plugged into one bridge
// (`<tag>br`) in the root namespace. The bridge holds 10.X.Y.1/24 and member k
// gets 10.X.Y.(k+2)/24, with X.Y derived from the pid and checked against
// every route and address already on the machine. The harness's clients stay
// in the root namespace and reach each member's ports through the bridge.
// Members run under `ip netns exec <ns>` (wrap), which execs in place: the
// child's PID is the member's, so SIGKILL/SIGSTOP/SIGCONT reach it.
//
// Faults live in the DESTINATION's namespace, in its own nft table
// `inet cj_jepsen`, chain `input`:
//   cut(src, dst):             ip saddr <src> drop
//   shape(src, dst, lossPct):  ip saddr <src> numgen random mod 100 < pct drop
// These are one-way packet cuts, not one-way connection cuts: TCP in the
// reverse direction (dst dialled src) stalls as well, because src's ACKs are
// dropped at dst. Delay ± jitter is a `tc netem` child of a `prio` qdisc on
// src's veth, with a u32 filter per destination. start() probes netem in a
// throwaway namespace; without it a shape with delay throws (no fallback).
// Everything is torn down by close(), and best effort (synchronously) on exit
// and on SIGINT/SIGTERM when nobody else handles them.
import { execFileSync, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import type { LinkShape } from "./link-proxy.js";
import type { Net } from "./net.js";

export const ROOT_NET_INSTALL = "apt-get install nftables iproute2";
const TABLE = "cj_jepsen";
/** prio has 16 bands: band 1 is the default, one band per other member. */
const MEMBERS_MAX = 15;
const EXEC_TIMEOUT_MS = 10_000;

export type Availability = { ok: true } | { ok: false; reason: string };
export type NetemProbe = { ok: true } | { ok: false; command: string; stderr: string };

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** An executable from PATH or the sbin dirs (ip and nft live there), or null. */
function which(name: string): string | null {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/sbin", "/usr/bin"];
  for (const dir of dirs) {
    if (dir === "") continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // keep looking
    }
  }
  return null;
}

/** Runs a command to completion; never rejects (a missing binary is code 127). */
function exec(file: string, args: readonly string[], input?: string): Promise<Outcome> {
  return new Promise((done) => {
    let stdout = "";
    let stderr = "";
    const child = spawn(file, args, {
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      timeout: EXEC_TIMEOUT_MS,
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", (error) => done({ code: 127, stdout, stderr: stderr + error.message }));
    child.on("close", (code) => done({ code: code ?? 128, stdout, stderr }));
    if (input !== undefined) child.stdin?.end(input);
  });
}

function describe(file: string, args: readonly string[]): string {
  return [file.split("/").at(-1) ?? file, ...args].join(" ");
}

/** Runs a command and throws, naming it and its stderr, when it fails. */
async function must(file: string, args: readonly string[], input?: string): Promise<string> {
  const outcome = await exec(file, args, input);
  if (outcome.code !== 0) {
    throw new Error(`\`${describe(file, args)}\` failed: ${outcome.stderr.trim()}`);
  }
  return outcome.stdout;
}

let tagCounter = 0;

/** `cj<pid base36><counter>`: no namespace or link on the machine contains it yet. */
async function chooseTag(ip: string): Promise<string> {
  const [namespaces, links] = await Promise.all([
    must(ip, ["netns", "list"]),
    must(ip, ["-o", "link", "show"]),
  ]);
  for (let tries = 0; tries < 36; tries++) {
    const tag = `cj${process.pid.toString(36)}${(tagCounter++ % 36).toString(36)}`;
    if (!namespaces.includes(tag) && !links.includes(tag)) return tag;
  }
  throw new Error("no free cj<pid> name for the root network backend");
}

function toInt(address: string): number {
  return address.split(".").reduce((acc, part) => acc * 256 + Number(part), 0);
}

/** `10.X.Y` (a /24) derived from the pid that overlaps no route or address here. */
async function chooseSubnet(ip: string): Promise<string> {
  const text = [
    await must(ip, ["-4", "-o", "route", "show", "table", "all"]),
    await must(ip, ["-4", "-o", "addr", "show"]),
  ].join("\n");
  const taken = [...text.matchAll(/(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?/g)]
    .map((m) => ({ base: toInt(m[1] ?? "0.0.0.0"), len: Number(m[2] ?? 32) }))
    .filter((p) => p.len > 0);
  const overlaps = (base: number): boolean =>
    taken.some((p) => {
      const len = Math.min(p.len, 24);
      const mask = len === 0 ? 0 : (~0 << (32 - len)) >>> 0;
      return (p.base & mask) >>> 0 === (base & mask) >>> 0;
    });
  // 10.100.0.0 .. 10.227.255.0: 32768 /24s.
  const start = process.pid % 32_768;
  for (let i = 0; i < 32_768; i++) {
    const n = (start + i * 7_919 + tagCounter) % 32_768;
    const prefix = `10.${100 + (n >> 8)}.${n & 255}`;
    if (!overlaps(toInt(`${prefix}.0`))) return prefix;
  }
  throw new Error("no free 10.X.Y.0/24 for the root network backend");
}

interface Member {
  readonly name: string;
  readonly index: number;
  readonly ns: string;
  readonly inner: string;
  readonly outer: string;
  readonly ip: string;
}

interface Rule {
  cut: boolean;
  lossPct: number;
}

export class RootNet implements Net {
  readonly backend = "root";
  private readonly byName = new Map<string, Member>();
  /** Rules by dst, then src (they live in dst's input chain). */
  private readonly rules = new Map<string, Map<string, Rule>>();
  /** Delays by src, then dst (netem on src's veth). */
  private readonly delays = new Map<string, Map<string, LinkShape>>();
  /** Members whose veth has the prio + netem qdiscs installed. */
  private readonly hasQdisc = new Set<string>();
  /** What exists, in creation order, so close() deletes only that. */
  private readonly created: { kind: "netns" | "link"; name: string }[] = [];
  private closed = false;
  private readonly onExit = (): void => this.cleanupSync();
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    // The CLI handles Ctrl-C itself (graceful end, then process.exit → onExit).
    if (process.listenerCount(signal) > 1) return;
    this.cleanupSync();
    process.kill(process.pid, signal);
  };

  private constructor(
    private readonly ip: string,
    private readonly nft: string,
    private readonly tc: string | null,
    readonly tag: string,
    readonly subnet: string,
    /** Whether delay (tc netem) works on this kernel. */
    readonly netem: NetemProbe,
  ) {}

  /** Root, `ip netns` and `nft` (tried in a throwaway namespace); the reason names the fix. */
  static async available(): Promise<Availability> {
    const fix = `install with: ${ROOT_NET_INSTALL}`;
    const uid = process.getuid?.();
    if (uid !== 0) {
      return {
        ok: false,
        reason: `--net root needs root (uid 0) for network namespaces; this process runs as uid ${uid ?? "unknown"} (it also needs iproute2 and nftables: ${ROOT_NET_INSTALL})`,
      };
    }
    const ip = which("ip");
    if (ip === null) return { ok: false, reason: `iproute2's \`ip\` is not installed; ${fix}` };
    const nft = which("nft");
    if (nft === null) return { ok: false, reason: `nftables' \`nft\` is not installed; ${fix}` };
    try {
      await must(ip, ["netns", "list"]);
      const ns = `${await chooseTag(ip)}p`;
      await must(ip, ["netns", "add", ns]);
      try {
        await must(ip, ["netns", "exec", ns, nft, "add", "table", "inet", TABLE]);
      } finally {
        await exec(ip, ["netns", "del", ns]);
      }
    } catch (error) {
      return { ok: false, reason: `${(error as Error).message}; ${fix}` };
    }
    return { ok: true };
  }

  /** Tries the exact qdiscs shape() uses for delay, in a throwaway namespace. */
  static async probeNetem(): Promise<NetemProbe> {
    const ip = which("ip") ?? "ip";
    const tc = which("tc");
    if (tc === null) return { ok: false, command: "tc", stderr: "tc (iproute2) is not installed" };
    const ns = `${await chooseTag(ip)}p`;
    const added = await exec(ip, ["netns", "add", ns]);
    if (added.code !== 0) {
      return {
        ok: false,
        command: describe(ip, ["netns", "add", ns]),
        stderr: added.stderr.trim(),
      };
    }
    try {
      for (const args of [
        prioArgs(ns, "lo"),
        netemArgs(ns, "lo", 0, { delayMs: 1, jitterMs: 1 }),
      ]) {
        const outcome = await exec(tc, args);
        if (outcome.code !== 0) {
          return { ok: false, command: describe(tc, args), stderr: outcome.stderr.trim() };
        }
      }
      return { ok: true };
    } finally {
      await exec(ip, ["netns", "del", ns]);
    }
  }

  /** One namespace per name (every member that may ever run); needs available() to be ok. */
  static async start(names: readonly string[]): Promise<RootNet> {
    if (names.length > MEMBERS_MAX) {
      throw new Error(`the root network backend takes at most ${MEMBERS_MAX} members`);
    }
    const ip = which("ip");
    const nft = which("nft");
    if (ip === null || nft === null) {
      throw new Error(
        `the root network backend needs ip and nft; install with: ${ROOT_NET_INSTALL}`,
      );
    }
    const netem = await RootNet.probeNetem();
    const tag = await chooseTag(ip);
    const subnet = await chooseSubnet(ip);
    const net = new RootNet(ip, nft, which("tc"), tag, subnet, netem);
    process.on("exit", net.onExit);
    process.on("SIGINT", net.onSignal);
    process.on("SIGTERM", net.onSignal);
    try {
      const bridge = `${tag}br`;
      await must(ip, ["link", "add", bridge, "type", "bridge"]);
      net.created.push({ kind: "link", name: bridge });
      await must(ip, ["addr", "add", `${subnet}.1/24`, "dev", bridge]);
      await must(ip, ["link", "set", bridge, "up"]);
      for (const [index, name] of names.entries()) {
        const member: Member = {
          name,
          index,
          ns: `${tag}-${name}`,
          inner: `${tag}n${index}`,
          outer: `${tag}h${index}`,
          ip: `${subnet}.${index + 2}`,
        };
        await must(ip, ["netns", "add", member.ns]);
        net.created.push({ kind: "netns", name: member.ns });
        await must(
          ip,
          ["link", "add", member.outer, "type", "veth"].concat([
            "peer",
            "name",
            member.inner,
            "netns",
            member.ns,
          ]),
        );
        net.created.push({ kind: "link", name: member.outer });
        await must(ip, ["link", "set", member.outer, "master", bridge, "up"]);
        await must(ip, ["-n", member.ns, "addr", "add", `${member.ip}/24`, "dev", member.inner]);
        await must(ip, ["-n", member.ns, "link", "set", member.inner, "up"]);
        await must(ip, ["-n", member.ns, "link", "set", "lo", "up"]);
        await must(
          ip,
          ["netns", "exec", member.ns, nft, "-f", "-"],
          `add table inet ${TABLE}\nadd chain inet ${TABLE} input { type filter hook input priority 0; policy accept; }\n`,
        );
        net.byName.set(name, member);
      }
    } catch (error) {
      await net.close();
      throw error;
    }
    return net;
  }

  /** The member's address (listen and advertise on it). */
  host(name: string): string {
    return this.member(name).ip;
  }

  /** The command prefix that runs a member inside its namespace (exec in place). */
  wrap(name: string): readonly string[] {
    return [this.ip, "netns", "exec", this.member(name).ns];
  }

  /** The member's namespace name (under /run/netns). */
  namespace(name: string): string {
    return this.member(name).ns;
  }

  async cut(src: string, dst: string): Promise<void> {
    this.member(src);
    this.ruleOf(dst, src).cut = true;
    await this.installRules(dst);
  }

  async shape(src: string, dst: string, shape: LinkShape): Promise<void> {
    this.member(src);
    this.member(dst);
    const wantsDelay = shape.delayMs > 0 || shape.jitterMs > 0;
    if (wantsDelay && !this.netem.ok) {
      throw new Error(
        `--net root: delay needs tc netem, which this kernel lacks (\`${this.netem.command}\` failed with "${this.netem.stderr}"); only loss works here`,
      );
    }
    this.ruleOf(dst, src).lossPct = shape.lossPct;
    await this.installRules(dst);
    let delays = this.delays.get(src);
    if (delays === undefined) {
      delays = new Map();
      this.delays.set(src, delays);
    }
    if (wantsDelay) delays.set(dst, shape);
    else delays.delete(dst);
    if (wantsDelay || this.hasQdisc.has(src)) await this.installDelays(src);
  }

  async heal(): Promise<void> {
    this.rules.clear();
    this.delays.clear();
    const members = [...this.byName.values()];
    await Promise.all(members.map((m) => this.installRules(m.name)));
    await Promise.all(
      [...this.hasQdisc].map((name) => this.installDelays(name).catch(() => undefined)),
    );
  }

  /** Rules live in the namespaces, which outlive a member's restart. */
  async restarted(): Promise<void> {}

  serveArgs(): readonly string[] {
    return [];
  }

  /** Deletes every veth, namespace and the bridge it created (the nft tables go with them). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.detach();
    for (const item of [...this.created].reverse()) {
      const args = item.kind === "netns" ? ["netns", "del", item.name] : ["link", "del", item.name];
      await exec(this.ip, args);
    }
    this.created.length = 0;
  }

  /** The exit path: same as close(), synchronously and best effort. */
  private cleanupSync(): void {
    if (this.closed) return;
    this.closed = true;
    this.detach();
    for (const item of [...this.created].reverse()) {
      const args = item.kind === "netns" ? ["netns", "del", item.name] : ["link", "del", item.name];
      try {
        execFileSync(this.ip, args, { stdio: "ignore", timeout: EXEC_TIMEOUT_MS });
      } catch {
        // best effort
      }
    }
    this.created.length = 0;
  }

  private detach(): void {
    process.removeListener("exit", this.onExit);
    process.removeListener("SIGINT", this.onSignal);
    process.removeListener("SIGTERM", this.onSignal);
  }

  private member(name: string): Member {
    const member = this.byName.get(name);
    if (member === undefined) throw new Error(`no member ${name} in the root network`);
    return member;
  }

  private ruleOf(dst: string, src: string): Rule {
    this.member(dst);
    let rules = this.rules.get(dst);
    if (rules === undefined) {
      rules = new Map();
      this.rules.set(dst, rules);
    }
    let rule = rules.get(src);
    if (rule === undefined) {
      rule = { cut: false, lossPct: 0 };
      rules.set(src, rule);
    }
    return rule;
  }

  /** Rewrites dst's input chain in one nft transaction. */
  private async installRules(dst: string): Promise<void> {
    const member = this.member(dst);
    const lines = [`flush chain inet ${TABLE} input`];
    for (const [src, rule] of this.rules.get(dst) ?? []) {
      const from = `add rule inet ${TABLE} input ip saddr ${this.member(src).ip}`;
      if (rule.cut || rule.lossPct >= 100) lines.push(`${from} drop`);
      else if (rule.lossPct > 0) {
        lines.push(`${from} numgen random mod 100 < ${Math.round(rule.lossPct)} drop`);
      }
    }
    await must(this.ip, ["netns", "exec", member.ns, this.nft, "-f", "-"], `${lines.join("\n")}\n`);
  }

  /** Rebuilds src's egress qdiscs: prio, then one netem band + u32 filter per delayed dst. */
  private async installDelays(src: string): Promise<void> {
    const member = this.member(src);
    const tc = this.tc ?? "tc";
    if (this.hasQdisc.has(src)) {
      await exec(tc, ["-n", member.ns, "qdisc", "del", "dev", member.inner, "root"]);
      this.hasQdisc.delete(src);
    }
    const delays = [...(this.delays.get(src) ?? [])];
    if (delays.length === 0) return;
    await must(tc, prioArgs(member.ns, member.inner));
    this.hasQdisc.add(src);
    for (const [dst, shape] of delays) {
      const to = this.member(dst);
      await must(tc, netemArgs(member.ns, member.inner, to.index, shape));
      await must(tc, [
        "-n",
        member.ns,
        "filter",
        "add",
        "dev",
        member.inner,
        "parent",
        "1:",
        "protocol",
        "ip",
        "prio",
        "1",
        "u32",
        "match",
        "ip",
        "dst",
        `${to.ip}/32`,
        "flowid",
        `1:${(to.index + 2).toString(16)}`,
      ]);
    }
  }
}

/** A 16-band prio root qdisc that sends everything unfiltered to band 1:1. */
function prioArgs(ns: string, dev: string): string[] {
  return [
    "-n",
    ns,
    "qdisc",
    "add",
    "dev",
    dev,
    "root",
    "handle",
    "1:",
    "prio",
    "bands",
    "16",
  ].concat(["priomap", ...Array.from({ length: 16 }, () => "0")]);
}

/** netem on band 1:(index+2) for traffic to the member with that index. */
function netemArgs(
  ns: string,
  dev: string,
  index: number,
  shape: Pick<LinkShape, "delayMs" | "jitterMs">,
): string[] {
  return [
    "-n",
    ns,
    "qdisc",
    "add",
    "dev",
    dev,
    "parent",
    `1:${(index + 2).toString(16)}`,
    "handle",
    `${(index + 16).toString(16)}:`,
    "netem",
    "delay",
    `${Math.round(shape.delayMs)}ms`,
    `${Math.round(shape.jitterMs)}ms`,
  ];
}
