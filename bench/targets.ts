// What the benchmark measures: a fresh local cairn cluster, a fresh real
// etcd cluster (Debian's etcd 3.4.23 through cluster/etcd-cluster), or a
// running cluster given by --endpoints. Fresh clusters live in temp dirs and
// are stopped, by their own PIDs, when the measurement is done.
import { EtcdCluster, etcdMissingReason } from "../cluster/etcd-cluster.js";
import { ProcessCluster } from "../cluster/process-cluster.js";

export type TargetKind = "cairn" | "etcd";

export interface RunningTarget {
  readonly kind: TargetKind;
  readonly endpoints: readonly string[];
  /** Server processes whose CPU is sampled; empty for --endpoints. */
  readonly serverPids: readonly number[];
  stop(): Promise<void>;
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
    return { kind, endpoints, serverPids: [], stop: async () => {} };
  }
  if (kind === "etcd") {
    const etcd = await EtcdCluster.start({ size });
    return {
      kind,
      endpoints: etcd.endpoints(),
      serverPids: etcd.pids(),
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
    stop: () => cairn.stop(),
  };
}
