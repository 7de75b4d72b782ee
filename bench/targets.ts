// What the benchmark measures: a fresh local cairn cluster, a fresh real
// etcd cluster (Debian's etcd 3.4.23 through cluster/etcd-cluster), or a
// running cluster given by --endpoints. Fresh clusters live in temp dirs and
// are stopped, by their own PIDs, when the measurement is done.
import { EtcdCluster, etcdMissingReason } from "../cluster/etcd-cluster.js";
import { ProcessCluster } from "../cluster/process-cluster.js";

export type TargetKind = "cairn" | "etcd";

/** One member of a cluster this bench started, in endpoint order (failover, footprint). */
export interface TargetMember {
  readonly endpoint: string;
  readonly dataDir: string;
  /** The member's current PID, or null once it has exited. */
  pid(): number | null;
}

export interface RunningTarget {
  readonly kind: TargetKind;
  readonly endpoints: readonly string[];
  /** Server processes whose CPU is sampled; empty for --endpoints. */
  readonly serverPids: readonly number[];
  /** The members with their processes and data dirs; empty for --endpoints (not ours). */
  readonly members: readonly TargetMember[];
  stop(): Promise<void>;
}

/** A member handle of either cluster kind: both keep the live child process on it. */
function targetMember(member: {
  readonly client: string;
  readonly dataDir: string;
  readonly process: { readonly pid?: number | undefined } | null;
}): TargetMember {
  return {
    endpoint: member.client,
    dataDir: member.dataDir,
    pid: () => member.process?.pid ?? null,
  };
}

const LEADER_TIMEOUT_MS = 15_000;

/** Why `kind` cannot be started here, with what to install, or null. */
export function targetMissingReason(kind: TargetKind): string | null {
  return kind === "etcd" ? etcdMissingReason() : null;
}

export async function startTarget(
  kind: TargetKind,
  size: number,
  endpoints: readonly string[] | null,
): Promise<RunningTarget> {
  if (endpoints !== null) {
    return { kind, endpoints, serverPids: [], members: [], stop: async () => {} };
  }
  if (kind === "etcd") {
    const etcd = await EtcdCluster.start({ size });
    return {
      kind,
      endpoints: etcd.endpoints(),
      serverPids: etcd.pids(),
      members: etcd.members.map(targetMember),
      stop: () => etcd.stop(),
    };
  }
  const cairn = await ProcessCluster.start({ size });
  try {
    await cairn.waitForLeader(LEADER_TIMEOUT_MS);
  } catch (error) {
    await cairn.stop();
    throw error;
  }
  return {
    kind,
    endpoints: cairn.members.map((m) => m.client),
    serverPids: cairn.members.map((m) => m.process?.pid ?? 0).filter((pid) => pid > 0),
    members: cairn.members.map(targetMember),
    stop: () => cairn.stop(),
  };
}
