// `--target etcd`: a real etcd 3.4 cluster (/usr/bin/etcd) as the system under
// test, for the same workloads with the process nemeses (kill, pause). etcd
// dials the peer URLs it advertises, so per-link proxies cannot be slipped in:
// network faults need `--net root` (each member in its own network namespace,
// placed by hostOf/wrap); the membership nemesis is cairn-only.
import { spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, credentials } from "@grpc/grpc-js";
import { etcdBinary, etcdMemberArgs, etcdMissingReason } from "../../cluster/etcd-cluster.js";
import { freePorts } from "../../cluster/ports.js";
import { type MemberPlacement, wrapCommand } from "../../cluster/process-cluster.js";
import { CLUSTER_SERVICE, MAINTENANCE_SERVICE } from "../../src/server/services.js";
import { callUnary } from "../../src/transport/grpc-codec.js";
import type { Target, TargetMember, TargetStatus } from "./target.js";

const STATUS_TIMEOUT_MS = 1_000;

/** etcd reads every ETCD_* variable as a flag. */
function cleanEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith("ETCD_")),
  );
}

export class EtcdTarget implements Target {
  readonly members: TargetMember[] = [];
  private readonly names = new Map<string, string>();

  private constructor(
    readonly dir: string,
    private readonly binary: string,
    private readonly extraArgs: readonly string[],
    private readonly placement: MemberPlacement,
  ) {}

  static async start(
    size: number,
    extraArgs: readonly string[] = [],
    placement: MemberPlacement = {},
  ): Promise<EtcdTarget> {
    const binary = etcdBinary();
    if (binary === null) throw new Error(etcdMissingReason() ?? "etcd is not installed");
    const dir = mkdtempSync(join(tmpdir(), "jepsen-etcd-"));
    const target = new EtcdTarget(dir, binary, extraArgs, placement);
    const ports = await freePorts(2 * size);
    for (let i = 1; i <= size; i++) {
      const host = placement.hostOf?.(`n${i}`) ?? "127.0.0.1";
      target.members.push({
        name: `n${i}`,
        client: `${host}:${ports[2 * i - 2]}`,
        peer: `${host}:${ports[2 * i - 1]}`,
        dataDir: join(target.dir, `n${i}.etcd`),
        logFile: join(target.dir, `n${i}.log`),
        process: null,
      });
    }
    for (const member of target.members) target.startMember(member.name);
    return target;
  }

  member(name: string): TargetMember {
    const member = this.members.find((m) => m.name === name);
    if (member === undefined) throw new Error(`no member ${name}`);
    return member;
  }

  startMember(name: string): void {
    const member = this.member(name);
    if (member.process !== null) throw new Error(`${name} is already running`);
    const args = etcdMemberArgs(member, this.members, `jepsen-lite-${process.pid}`, this.extraArgs);
    const [file, argv] = wrapCommand(this.placement.wrap?.(name) ?? [], this.binary, args);
    const child = spawn(file, argv, {
      stdio: ["ignore", "pipe", "pipe"],
      env: cleanEnvironment(),
    });
    const log = createWriteStream(member.logFile, { flags: "a" });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    child.on("exit", () => {
      if (member.process === child) member.process = null;
    });
    member.process = child;
  }

  async kill(name: string, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const member = this.member(name);
    const child = member.process;
    if (child === null) return;
    const exited = new Promise<void>((done) => child.once("exit", () => done()));
    child.kill(signal);
    await exited;
    member.process = null;
  }

  signal(name: string, signal: NodeJS.Signals): boolean {
    return this.member(name).process?.kill(signal) ?? false;
  }

  async status(name: string): Promise<TargetStatus | null> {
    const client = new Client(this.member(name).client, credentials.createInsecure());
    const deadline = () => ({ deadline: Date.now() + STATUS_TIMEOUT_MS });
    try {
      const status = await callUnary(client, MAINTENANCE_SERVICE.Status, {}, deadline());
      const leaderId = String(status.leader);
      if (!this.names.has(leaderId) && status.leader !== 0) {
        const list = await callUnary(client, CLUSTER_SERVICE.MemberList, {}, deadline());
        for (const m of list.members) this.names.set(String(m.ID), m.name ?? "");
      }
      return {
        role: String(status.header?.memberId) === leaderId ? "leader" : "follower",
        leaderName: this.names.get(leaderId) ?? "",
        appliedIndex: Number(status.raftAppliedIndex),
        term: Number(status.raftTerm),
      };
    } catch {
      return null;
    } finally {
      client.close();
    }
  }

  async waitForLeader(timeoutMs = 10_000, among?: readonly string[]): Promise<string> {
    const names = among ?? this.members.filter((m) => m.process !== null).map((m) => m.name);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const statuses = await Promise.all(names.map((n) => this.status(n)));
      const leaders = new Set(statuses.map((s) => s?.leaderName ?? ""));
      const [leader] = [...leaders];
      if (leaders.size === 1 && leader !== undefined && leader !== "") return leader;
      await new Promise((done) => setTimeout(done, 100));
    }
    throw new Error(`etcd: no agreed leader among ${names.join(",")} within ${timeoutMs} ms`);
  }

  async stop(keepData = false): Promise<void> {
    for (const m of this.members) m.process?.kill("SIGCONT");
    await Promise.all(this.members.map((m) => this.kill(m.name, "SIGTERM")));
    if (!keepData) rmSync(this.dir, { recursive: true, force: true });
  }
}
