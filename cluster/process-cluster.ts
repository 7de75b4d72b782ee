// Real multi-process clusters on loopback for end-to-end tests, jepsen-lite
// and the benchmark: each member is a `cairn serve` child process with its log
// captured to a file so a failure can show what happened. Only processes
// started here are ever signalled, by their own PID.
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { CairnClient, type NodeStatus } from "../src/client/client.js";
import { freePorts } from "./ports.js";

/** Works from cluster/*.ts (tests, via vitest) and from dist/cluster/*.js (bench). */
const HERE = import.meta.dirname;
const ROOT = basename(dirname(HERE)) === "dist" ? resolve(HERE, "..", "..") : resolve(HERE, "..");
const CLI = resolve(ROOT, "dist", "src", "cli", "main.js");

export interface MemberHandle {
  readonly name: string;
  readonly client: string;
  readonly peer: string;
  readonly metrics: string;
  readonly dataDir: string;
  readonly logFile: string;
  process: ChildProcess | null;
  /** Started with --initial-cluster-state existing: added to a running cluster by MemberAdd. */
  joining?: boolean;
}

/**
 * Where members run (jepsen-lite's root network backend): the defaults keep
 * every member on 127.0.0.1, run directly.
 */
export interface MemberPlacement {
  /** The host a member listens on and advertises (default 127.0.0.1). */
  readonly hostOf?: (name: string) => string;
  /**
   * A command prefix the member runs under, e.g. `ip netns exec NS`. It must
   * exec the member in place, so the child's PID is the member's and
   * SIGKILL/SIGSTOP/SIGCONT reach it.
   */
  readonly wrap?: (name: string) => readonly string[];
}

/** The file and argv that run `file args` under a wrap prefix (none: as is). */
export function wrapCommand(
  prefix: readonly string[],
  file: string,
  args: readonly string[],
): [string, string[]] {
  const [first, ...rest] = prefix;
  return first === undefined ? [file, [...args]] : [first, [...rest, file, ...args]];
}

export interface ClusterOptions extends MemberPlacement {
  readonly size: number;
  readonly extraArgs?: readonly string[];
  /** Adds --unsafe-test-mode so link faults can be injected (tests only). */
  readonly faultHooks?: boolean;
  /** Member names (default n1..n<size>). */
  readonly names?: readonly string[];
  /**
   * Runs once every member's ports and data dir are chosen and before any
   * member starts: e.g. to fill the data dirs (`cairn snapshot restore`).
   */
  readonly beforeStart?: (cluster: ProcessCluster) => Promise<void>;
  /** Data dirs by member name, e.g. one on a small file system; others live under the cluster dir. */
  readonly dataDirs?: Readonly<Record<string, string>>;
  /** Extra flags for one member, asked at every start (jepsen-lite: per-node dial overrides). */
  readonly memberArgs?: (name: string) => readonly string[];
}

export class ProcessCluster {
  readonly members: MemberHandle[] = [];
  private constructor(
    readonly dir: string,
    private readonly extraArgs: readonly string[],
    private readonly memberArgs: (name: string) => readonly string[] = () => [],
    private readonly placement: MemberPlacement = {},
  ) {}

  private hostOf(name: string): string {
    return this.placement.hostOf?.(name) ?? "127.0.0.1";
  }

  static async start(options: ClusterOptions): Promise<ProcessCluster> {
    if (!existsSync(CLI)) {
      throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does it for you)`);
    }
    const extraArgs = [
      ...(options.extraArgs ?? []),
      ...(options.faultHooks === true ? ["--unsafe-test-mode"] : []),
    ];
    const cluster = new ProcessCluster(
      mkdtempSync(join(tmpdir(), "cairn-cluster-")),
      extraArgs,
      options.memberArgs,
      options,
    );
    const names = options.names ?? Array.from({ length: options.size }, (_, i) => `n${i + 1}`);
    if (names.length !== options.size) {
      throw new Error(`${names.length} names given for ${options.size} members`);
    }
    const ports = await freePorts(3 * names.length);
    for (const [i, name] of names.entries()) {
      const [client, peer, metrics] = ports.slice(3 * i, 3 * i + 3);
      const host = cluster.hostOf(name);
      cluster.members.push({
        name,
        client: `${host}:${client}`,
        peer: `${host}:${peer}`,
        metrics: `${host}:${metrics}`,
        dataDir: options.dataDirs?.[name] ?? join(cluster.dir, name),
        logFile: join(cluster.dir, `${name}.log`),
        process: null,
      });
    }
    try {
      await options.beforeStart?.(cluster);
    } catch (error) {
      rmSync(cluster.dir, { recursive: true, force: true });
      throw error;
    }
    for (const member of cluster.members) cluster.startMember(member.name);
    return cluster;
  }

  /**
   * A handle for a member to add to the running cluster (not started): add it
   * with MemberAdd at its `peer` address first, then startMember(name).
   */
  async addMember(name: string): Promise<MemberHandle> {
    if (this.members.some((m) => m.name === name)) throw new Error(`${name} exists`);
    const [client, peer, metrics] = await freePorts(3);
    const host = this.hostOf(name);
    const member: MemberHandle = {
      name,
      client: `${host}:${client}`,
      peer: `${host}:${peer}`,
      metrics: `${host}:${metrics}`,
      dataDir: join(this.dir, name),
      logFile: join(this.dir, `${name}.log`),
      process: null,
      joining: true,
    };
    this.members.push(member);
    return member;
  }

  member(name: string): MemberHandle {
    const member = this.members.find((m) => m.name === name);
    if (member === undefined) throw new Error(`no member ${name}`);
    return member;
  }

  /** The --initial-cluster every member starts with: name=peer,... */
  get initialCluster(): string {
    return this.members.map((m) => `${m.name}=${m.peer}`).join(",");
  }

  startMember(name: string): void {
    const member = this.member(name);
    if (member.process !== null) throw new Error(`${name} is already running`);
    const args = [
      CLI,
      "serve",
      "--name",
      member.name,
      "--data-dir",
      member.dataDir,
      "--listen-client",
      member.client,
      "--listen-peer",
      member.peer,
      "--listen-metrics",
      member.metrics,
      "--initial-cluster",
      this.initialCluster,
      ...(member.joining === true ? ["--initial-cluster-state", "existing"] : []),
      ...this.extraArgs,
      ...this.memberArgs(member.name),
    ];
    const [file, argv] = wrapCommand(
      this.placement.wrap?.(member.name) ?? [],
      process.execPath,
      args,
    );
    const child = spawn(file, argv, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, CAIRN_LOG_FORMAT: "json" },
    });
    const log = createWriteStream(member.logFile, { flags: "a" });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    child.on("exit", () => {
      if (member.process === child) member.process = null;
    });
    member.process = child;
  }

  /** SIGKILL (or another signal) one member and wait until it is gone. */
  async kill(name: string, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const member = this.member(name);
    const child = member.process;
    if (child === null) return;
    const exited = new Promise<void>((done) => child.once("exit", () => done()));
    child.kill(signal);
    await exited;
    member.process = null;
  }

  /** Sends a signal that does not end the process (SIGSTOP, SIGCONT); false if not running. */
  signal(name: string, signal: NodeJS.Signals): boolean {
    const child = this.member(name).process;
    return child?.kill(signal) ?? false;
  }

  /**
   * SIGTERM one member, a clean shutdown (a leader hands leadership over
   * first), and wait until it has exited; returns its exit code.
   */
  async stopGracefully(name: string): Promise<number | null> {
    const member = this.member(name);
    const child = member.process;
    if (child === null) throw new Error(`${name} is not running`);
    const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
    child.kill("SIGTERM");
    const code = await exited;
    member.process = null;
    return code;
  }

  client(names?: readonly string[], timeoutMs = 3000): CairnClient {
    const chosen = names === undefined ? this.members : names.map((n) => this.member(n));
    return new CairnClient({
      endpoints: chosen.map((m) => m.client),
      timeoutMs,
      attemptsMax: 2 * chosen.length,
    });
  }

  async status(name: string): Promise<NodeStatus | null> {
    const client = this.client([name], 1000);
    try {
      return await client.status(0);
    } catch {
      return null;
    } finally {
      client.close();
    }
  }

  /** Waits until the running members (or the named ones) agree on one leader; returns its name. */
  async waitForLeader(timeoutMs = 10_000, among?: readonly string[]): Promise<string> {
    const names = among ?? this.members.filter((m) => m.process !== null).map((m) => m.name);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const statuses = await Promise.all(names.map((n) => this.status(n)));
      const leaders = new Set(statuses.map((s) => s?.leaderName ?? ""));
      const leader = [...leaders][0];
      if (
        leaders.size === 1 &&
        leader !== undefined &&
        leader !== "" &&
        statuses.some((s) => s?.role === "leader")
      ) {
        return leader;
      }
      await sleep(100);
    }
    throw new Error(
      `no agreed leader among ${names.join(",")} within ${timeoutMs} ms\n${this.tailLogs()}`,
    );
  }

  /** Waits until every named member has applied at least `index`. */
  async waitForApplied(names: readonly string[], index: number, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const statuses = await Promise.all(names.map((n) => this.status(n)));
      if (statuses.every((s) => s !== null && s.appliedIndex >= index)) return;
      await sleep(100);
    }
    throw new Error(
      `members ${names.join(",")} did not apply index ${index} within ${timeoutMs} ms`,
    );
  }

  /** Test-only link faults through the member's guarded admin endpoint. */
  async faults(name: string, rules: unknown): Promise<void> {
    const response = await fetch(`http://${this.member(name).metrics}/test/faults`, {
      method: "POST",
      body: JSON.stringify(rules),
    });
    if (!response.ok)
      throw new Error(`faults on ${name}: ${response.status} ${await response.text()}`);
  }

  tailLogs(lines = 15): string {
    return this.members
      .map((m) => {
        const text = existsSync(m.logFile)
          ? readFileSync(m.logFile, "utf8").trim().split("\n").slice(-lines).join("\n")
          : "";
        return `--- ${m.name} (${m.logFile})\n${text}`;
      })
      .join("\n");
  }

  async stop(keepData = false): Promise<void> {
    // A SIGSTOPped member would never act on SIGTERM.
    for (const m of this.members) m.process?.kill("SIGCONT");
    await Promise.all(this.members.map((m) => this.kill(m.name, "SIGTERM")));
    if (!keepData) rmSync(this.dir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
