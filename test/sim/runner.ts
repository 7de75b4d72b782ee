// Runs one schedule against a fresh simulated cluster, then heals everything
// and checks liveness: a leader appears within a bound and every acknowledged
// proposal ends up applied on every node, in the same order.

import { type SimCluster as Cluster, SimCluster, SimulationFailure } from "./cluster.js";
import { RELIABLE_PROFILE } from "./network.js";
import {
  type Op,
  type PartitionShape,
  type Schedule,
  TARGET_LEADER,
  TARGET_STALE_LEADER,
} from "./schedule.js";

export interface SimulationParams {
  readonly size: number;
  /** Extra nodes that membership ops may add. */
  readonly spares?: number;
  /** Snapshot every N applied entries and compact the log (0 or absent: never). */
  readonly snapshotEvery?: number;
  readonly keepEntries?: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly trace?: (line: string) => void;
}

export interface SimulationOutcome {
  readonly ticks: number;
  readonly checks: number;
  readonly proposalsAccepted: number;
  readonly proposalsAcked: number;
  readonly readsAnswered: number;
  readonly messagesSent: number;
  readonly snapshotsInstalled: number;
  readonly confChangesApplied: number;
}

/** Liveness bounds after healing, in multiples of the election timeout. */
export const LEADER_BOUND_ELECTIONS = 20;
export const CONVERGENCE_BOUND_ELECTIONS = 20;

export function runSchedule(schedule: Schedule, params: SimulationParams): SimulationOutcome {
  const cluster = new SimCluster({
    size: params.size,
    seed: schedule.seed,
    profile: schedule.profile,
    electionTicks: params.electionTicks,
    heartbeatTicks: params.heartbeatTicks,
    spares: params.spares ?? 0,
    snapshotEvery: params.snapshotEvery ?? 0,
    keepEntries: params.keepEntries ?? 0,
    ...(params.trace ? { trace: params.trace } : {}),
  });
  let ticks = 0;
  for (const op of schedule.ops) {
    params.trace?.(`op ${JSON.stringify(op)}`);
    ticks += applyOp(cluster, op);
  }
  params.trace?.("settle: heal, reliable network, restart all");
  ticks += settle(cluster, params.electionTicks);
  return {
    ticks,
    checks: cluster.checker.checks,
    proposalsAccepted: cluster.proposer.size,
    proposalsAcked: cluster.acked.size,
    readsAnswered: cluster.readsAnswered,
    messagesSent: cluster.network.stats.sent,
    snapshotsInstalled: cluster.stats.snapshotsInstalled,
    confChangesApplied: cluster.stats.confChangesApplied,
  };
}

/** Resolves an op's node field (see TARGET_LEADER / TARGET_STALE_LEADER). */
function target(cluster: Cluster, node: number): number {
  switch (node) {
    case TARGET_LEADER:
      return cluster.leader()?.id ?? 1;
    case TARGET_STALE_LEADER:
      return cluster.leader("lowest-term")?.id ?? 1;
    default:
      return node;
  }
}

/** Applies one operation; returns the number of ticks it took. */
function applyOp(cluster: Cluster, op: Op): number {
  switch (op.kind) {
    case "tick":
      for (let k = 0; k < op.count; k++) {
        cluster.tick();
      }
      return op.count;
    case "propose":
      cluster.propose(target(cluster, op.node));
      return 0;
    case "propose-batch":
      cluster.proposeBatch(target(cluster, op.node), op.count);
      return 0;
    case "read":
      cluster.read(target(cluster, op.node));
      return 0;
    case "deliver-early":
      cluster.deliverEarly(op.pick);
      return 0;
    case "duplicate":
      cluster.network.duplicateAt(op.pick, cluster.now);
      return 0;
    case "drop-burst":
      cluster.network.dropNext(op.count);
      return 0;
    case "crash":
      if (op.point === "now") {
        cluster.crash(target(cluster, op.node), op.downtimeTicks);
        cluster.check();
      } else {
        cluster.armCrash(target(cluster, op.node), op.point, op.downtimeTicks);
      }
      return 0;
    case "restart":
      cluster.restart(op.node);
      return 0;
    case "partition":
      partition(cluster, op.shape);
      return 0;
    case "heal":
      cluster.network.heal();
      return 0;
    case "campaign":
      cluster.campaign(op.node);
      return 0;
    case "transfer":
      cluster.transferLeadership(op.node);
      return 0;
    case "membership":
      cluster.changeMembership({ type: op.change, nodeId: op.node });
      return 0;
    case "transfer-via":
      cluster.transferLeadershipVia(op.via, op.node);
      return 0;
    case "slow-disk":
      cluster.slowDisk(target(cluster, op.node), op.count);
      return 0;
  }
}

function partition(cluster: Cluster, shape: PartitionShape): void {
  switch (shape.kind) {
    case "isolate":
      cluster.network.split([shape.node], cluster.ids);
      return;
    case "isolate-leader": {
      const leader = cluster.leader();
      if (leader !== undefined) {
        cluster.network.split([leader.id], cluster.ids);
      }
      return;
    }
    case "split":
      cluster.network.split(
        cluster.ids.filter((id) => (shape.mask & (1 << (id - 1))) !== 0),
        cluster.ids,
      );
      return;
    case "one-way":
      if (shape.from !== shape.to) {
        cluster.network.cutOneWay(shape.from, shape.to);
      }
      return;
  }
}

/** Heals everything and waits (bounded) for a leader and full convergence. */
function settle(cluster: Cluster, electionTicks: number): number {
  cluster.network.heal();
  cluster.network.profile = RELIABLE_PROFILE;
  for (const id of cluster.ids) {
    cluster.node(id).armedCrash = null; // Settling is fault-free.
    cluster.node(id).slowDiskSteps = 0;
    cluster.restart(id);
  }
  let ticks = 0;
  const leaderBound = LEADER_BOUND_ELECTIONS * electionTicks;
  while (cluster.leader() === undefined) {
    if (ticks >= leaderBound) {
      throw new SimulationFailure(`no leader within ${leaderBound} ticks of healing`);
    }
    cluster.tick();
    ticks += 1;
  }
  const convergenceBound = CONVERGENCE_BOUND_ELECTIONS * electionTicks;
  for (let waited = 0; !converged(cluster); waited++) {
    if (waited >= convergenceBound) {
      throw new SimulationFailure(
        `not converged ${convergenceBound} ticks after a leader appeared`,
      );
    }
    cluster.tick();
    ticks += 1;
  }
  checkAcknowledged(cluster);
  return ticks;
}

/** The nodes in the leader's configuration: those that must converge. */
function members(cluster: Cluster): Cluster["nodes"] {
  const leader = cluster.leader();
  if (leader === undefined) {
    return [];
  }
  const { voters, learners } = leader.confState;
  return cluster.nodes.filter((n) => voters.includes(n.id) || learners.includes(n.id));
}

/** One leader has committed its whole log and every member has applied all of it. */
function converged(cluster: Cluster): boolean {
  const leader = cluster.leader();
  const status = leader?.raw?.status();
  if (status === undefined || status.commit !== status.lastIndex) {
    return false;
  }
  return members(cluster).every((node) => node.up && node.applied.length === status.commit);
}

function checkAcknowledged(cluster: Cluster): void {
  const decoder = new TextDecoder();
  const leader = cluster.leader();
  const reference = leader?.applied.map((e) => decoder.decode(e.data)) ?? [];
  for (const node of members(cluster)) {
    const sequence = node.applied.map((e) => decoder.decode(e.data));
    if (sequence.join(",") !== reference.join(",")) {
      throw new SimulationFailure(
        `node ${node.id} applied a different sequence than the leader ${leader?.id}`,
      );
    }
  }
  // A duplicated MsgProp can append a payload twice; the first copy is the one acknowledged.
  const position = new Map<string, number>();
  reference.forEach((payload, k) => {
    if (!position.has(payload)) {
      position.set(payload, k + 1);
    }
  });
  for (const [payload, index] of cluster.acked) {
    if (position.get(payload) !== index) {
      throw new SimulationFailure(
        `acknowledged proposal ${payload} (index ${index}) is at ${position.get(payload) ?? "nowhere"} after healing`,
      );
    }
  }
}
