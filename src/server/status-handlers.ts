// Answers about this member: the etcd response header every reply carries,
// etcd's Maintenance.Status and Cluster.MemberList, and cairn.v1.Node.Status
// (role and per-peer contact, which etcd's Status does not expose), and
// cairn.v1.Node.StateDigest (this member's digest at a corruption-check checkpoint).
import type { cairn } from "../gen/cairn.js";
import type { etcdserverpb } from "../gen/etcd.js";
import type { NodeId } from "../raft/types.js";
import type { ServeConfig } from "./config.js";
import { clusterId } from "./ids.js";
import type { RaftNode } from "./raft-node.js";

export class StatusHandlers {
  private readonly clusterIdValue: number;

  constructor(
    private readonly node: RaftNode,
    private readonly config: ServeConfig,
    private readonly members: ReadonlyMap<NodeId, { name: string; peerAddress: string }>,
    private readonly version: string,
  ) {
    this.clusterIdValue = clusterId(
      config.initialCluster.map((p) => p.name),
      config.initialClusterToken,
    );
  }

  header(revision: number): etcdserverpb.ResponseHeader.$Properties {
    return {
      clusterId: this.clusterIdValue,
      memberId: this.node.id,
      revision,
      raftTerm: this.node.status().term,
    };
  }

  /** Every member, sorted by id as etcd lists them; client URLs as each member published them. */
  memberList(): etcdserverpb.MemberListResponse.$Properties {
    const attributes = this.node.stateMachine.memberAttributes;
    return {
      header: this.header(this.node.stateMachine.kv.revision),
      members: [...this.members]
        .sort(([a], [b]) => a - b)
        .map(([id, member]) => ({
          ID: id,
          name: member.name,
          peerURLs: [`http://${member.peerAddress}`],
          clientURLs: [...(attributes.get(id)?.clientUrls ?? [])],
          isLearner: false,
        })),
    };
  }

  nodeStatus(): cairn.v1.NodeStatusResponse.$Properties {
    const raft = this.node.status();
    const nowMs = Date.now();
    const peerStats = this.node.transport.peerStats();
    const peers: cairn.v1.PeerStatus.$Properties[] = [];
    for (const [id, member] of this.members) {
      if (id === this.node.id) continue;
      const stats = peerStats.get(id);
      const progress = raft.progress.get(id);
      peers.push({
        id,
        name: member.name,
        address: member.peerAddress,
        connected: stats?.connected ?? false,
        lastContactMsAgo: stats?.lastContactMs == null ? -1 : nowMs - stats.lastContactMs,
        roundTripMs: stats?.roundTripMs ?? -1,
        matchIndex: progress?.match ?? 0,
        nextIndex: progress?.next ?? 0,
        progressState: progress?.state ?? "",
      });
    }
    return {
      name: this.config.name,
      id: this.node.id,
      role: raft.role,
      term: raft.term,
      leaderId: raft.leader,
      leaderName: this.members.get(raft.leader)?.name ?? "",
      commitIndex: raft.commit,
      appliedIndex: this.node.appliedIndex,
      lastLogIndex: this.node.lastLogIndex,
      peers,
      clusterId: this.clusterIdValue,
      revision: this.node.stateMachine.kv.revision,
      version: this.version,
    };
  }

  stateDigest(request: cairn.v1.StateDigestRequest): cairn.v1.StateDigestResponse.$Properties {
    const at = this.node.stateMachine.digestAt(request.checkpoint);
    if (at === undefined) {
      return { memberId: this.node.id, found: false, checkpoint: request.checkpoint };
    }
    return {
      memberId: this.node.id,
      found: true,
      checkpoint: at.checkpoint,
      revision: at.revision,
      digest: at.state.digest,
      tables: at.state.tables.map((t) => ({ table: t.table, rows: t.rows, sum: t.sum })),
    };
  }
}
