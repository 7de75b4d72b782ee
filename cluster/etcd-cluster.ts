// Real etcd clusters (Debian's etcd-server 3.4.23) on free loopback ports, so
// the differential test, the etcdctl e2e test and the benchmark can compare
// cairn with the server it imitates on the same machine. Each member's data
// and log live in one temp dir; only processes started here are signalled,
// by their own PID.
import { type ChildProcess, spawn } from "node:child_process";
import {
  accessSync,
  constants,
  createWriteStream,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { MAINTENANCE_STATUS } from "../src/client/methods.js";
import { callUnary, openChannel } from "../src/client/rpc.js";
import { freePorts } from "./ports.js";

/** What to run when etcd is missing: the versions every figure in shared/reference was taken with. */
export const ETCD_INSTALL_COMMAND = "apt-get update && apt-get install -y etcd-client etcd-server";

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
const POLL_INTERVAL_MS = 100;

/** The first executable `name` on PATH (then /usr/bin, where Debian puts it), or null. */
export function findExecutable(name: string): string | null {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/bin", "/usr/local/bin"];
  for (const dir of dirs) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here; keep looking.
    }
  }
  return null;
}

/** The etcd server binary: $ETCD_BIN when set, else `etcd` from PATH. */
export function etcdBinary(): string | null {
  const override = process.env.ETCD_BIN;
  if (override !== undefined && override !== "") return existsSync(override) ? override : null;
  return findExecutable("etcd");
}

/** The etcdctl binary: $ETCDCTL_BIN when set, else `etcdctl` from PATH. */
export function etcdctlBinary(): string | null {
  const override = process.env.ETCDCTL_BIN;
  if (override !== undefined && override !== "") return existsSync(override) ? override : null;
  return findExecutable("etcdctl");
}

/** Why a real etcd cannot be started here (with the install command), or null when it can. */
export function etcdMissingReason(): string | null {
  if (etcdBinary() !== null) return null;
  return `etcd (the server) is not installed; install Debian's etcd 3.4.23 with: ${ETCD_INSTALL_COMMAND}`;
}

export interface EtcdMember {
  readonly name: string;
  /** host:port of the client gRPC listener. */
  readonly client: string;
  readonly peer: string;
  readonly dataDir: string;
  readonly logFile: string;
  process: ChildProcess | null;
}

/** `etcd` flags for one member of a new local cluster (plain HTTP on loopback). */
export function etcdMemberArgs(
  member: Pick<EtcdMember, "name" | "dataDir" | "client" | "peer">,
  members: readonly Pick<EtcdMember, "name" | "peer">[],
  clusterToken: string,
  extraArgs: readonly string[] = [],
): string[] {
  return [
    "--name",
    member.name,
    "--data-dir",
    member.dataDir,
    "--listen-client-urls",
    `http://${member.client}`,
    "--advertise-client-urls",
    `http://${member.client}`,
    "--listen-peer-urls",
    `http://${member.peer}`,
    "--initial-advertise-peer-urls",
    `http://${member.peer}`,
    "--initial-cluster",
    members.map((m) => `${m.name}=http://${m.peer}`).join(","),
    "--initial-cluster-state",
    "new",
    "--initial-cluster-token",
    clusterToken,
    "--logger",
    "zap",
    "--log-outputs",
    "stderr",
    ...extraArgs,
  ];
}

export interface EtcdClusterOptions {
  readonly size: number;
  /** Extra etcd flags for every member (e.g. `--auto-compaction-retention`). */
  readonly extraArgs?: readonly string[];
  readonly startTimeoutMs?: number;
}

/** The environment without ETCD_* variables: etcd reads each of them as a flag. */
function cleanEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("ETCD_")) env[key] = value;
  }
  return env;
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

export class EtcdCluster {
  readonly members: EtcdMember[] = [];

  private constructor(
    readonly dir: string,
    private readonly binary: string,
    private readonly extraArgs: readonly string[],
  ) {}

  /** Starts `size` members and resolves once they agree on a leader; throws with the install command if etcd is absent. */
  static async start(options: EtcdClusterOptions): Promise<EtcdCluster> {
    const binary = etcdBinary();
    if (binary === null) throw new Error(etcdMissingReason() ?? "etcd is not installed");
    if (!(options.size >= 1 && options.size <= 7)) {
      throw new Error(`etcd cluster size must be 1..7, got ${options.size}`);
    }
    const dir = mkdtempSync(join(tmpdir(), "cairn-etcd-"));
    const cluster = new EtcdCluster(dir, binary, options.extraArgs ?? []);
    const ports = await freePorts(2 * options.size);
    for (let i = 1; i <= options.size; i++) {
      cluster.members.push({
        name: `n${i}`,
        client: `127.0.0.1:${ports[2 * i - 2]}`,
        peer: `127.0.0.1:${ports[2 * i - 1]}`,
        dataDir: join(dir, `n${i}.etcd`),
        logFile: join(dir, `n${i}.log`),
        process: null,
      });
    }
    for (const member of cluster.members) cluster.startMember(member);
    try {
      await cluster.waitForLeader(options.startTimeoutMs ?? START_TIMEOUT_MS);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** Client endpoints (host:port), in member order. */
  endpoints(): string[] {
    return this.members.map((m) => m.client);
  }

  /** PIDs of the running members (for CPU sampling). */
  pids(): number[] {
    return this.members.map((m) => m.process?.pid ?? 0).filter((pid) => pid > 0);
  }

  private startMember(member: EtcdMember): void {
    const token = `cairn-compare-${process.pid}-${this.dir.slice(-6)}`;
    const args = etcdMemberArgs(member, this.members, token, this.extraArgs);
    const child = spawn(this.binary, args, {
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

  /** Waits until every member answers Maintenance.Status naming the same, non-zero leader. */
  async waitForLeader(timeoutMs: number): Promise<void> {
    const channels = this.members.map((m) => openChannel(m.client));
    const deadline = Date.now() + timeoutMs;
    try {
      while (Date.now() < deadline) {
        const exited = this.members.find((m) => m.process === null);
        if (exited !== undefined) {
          throw new Error(`etcd member ${exited.name} exited during start\n${this.tailLogs()}`);
        }
        const leaders = await Promise.all(
          channels.map((c) =>
            callUnary(c, MAINTENANCE_STATUS, {}, 1000).then(
              (s) => s.leader,
              () => 0,
            ),
          ),
        );
        const first = leaders[0] ?? 0;
        if (first !== 0 && leaders.every((l) => l === first)) return;
        await sleep(POLL_INTERVAL_MS);
      }
    } finally {
      for (const channel of channels) channel.close();
    }
    throw new Error(`etcd members agreed on no leader within ${timeoutMs} ms\n${this.tailLogs()}`);
  }

  tailLogs(lines = 10): string {
    return this.members
      .map((m) => {
        const text = existsSync(m.logFile)
          ? readFileSync(m.logFile, "utf8").trim().split("\n").slice(-lines).join("\n")
          : "";
        return `--- etcd ${m.name} (${m.logFile})\n${text}`;
      })
      .join("\n");
  }

  /** SIGTERM each member by its PID, SIGKILL one that outlives the grace period, then remove the temp dir. */
  async stop(keepData = false): Promise<void> {
    await Promise.all(this.members.map((m) => stopProcess(m)));
    if (!keepData) rmSync(this.dir, { recursive: true, force: true });
  }
}

async function stopProcess(member: EtcdMember): Promise<void> {
  const child = member.process;
  if (child === null || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
  member.process = null;
}
