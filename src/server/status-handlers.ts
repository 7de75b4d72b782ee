// Answers about this member: the etcd response header every reply carries,
// etcd's Maintenance.Status and Cluster.MemberList, and cairn.v1.Node.Status
// (role and per-peer contact, which etcd's Status does not expose), and
// cairn.v1.Node.StateDigest (this member's digest at a corruption-check checkpoint).
import type { cairn } from "../gen/cairn.js";
import type { etcdserverpb } from "../gen/etcd.js";
import type { ServeConfig } from "./config.js";
import type { RaftNode } from "./raft-node.js";

export class StatusHandlers {
  constructor(
    private readonly node: RaftNode,
    private readonly config: ServeConfig,
    private readonly version: string,
  ) {}

  header(revision: number): etcdserverpb.ResponseHeader.$Properties {
    return {
      clusterId: this.node.clusterId,
      memberId: this.node.id,
      revision,
      raftTerm: this.node.status().term,
    };
  }

  /** Every member, sorted by id as etcd lists them; client URLs as each member published them. */
  memberList(): etcdserverpb.MemberListResponse.$Properties {
    return {
      header: this.header(this.node.stateMachine.kv.revision),
      members: this.members(),
    };
  }

  /** The membership as etcd's Member messages. */
  members(): etcdserverpb.Member.$Properties[] {
    const attributes = this.node.stateMachine.memberAttributes;
    return this.node.stateMachine.clusterMembers.list().map((member) => ({
      ID: member.id,
      name: this.node.memberName(member.id),
      peerURLs: member.peerUrls.map((address) => `http://${address}`),
      clientURLs: [...(attributes.get(member.id)?.clientUrls ?? [])],
      isLearner: member.isLearner,
    }));
  }

  nodeStatus(): cairn.v1.NodeStatusResponse.$Properties {
    const raft = this.node.status();
    const nowMs = Date.now();
    const peerStats = this.node.transport.peerStats();
    const peers: cairn.v1.PeerStatus.$Properties[] = [];
    for (const member of this.node.stateMachine.clusterMembers.list()) {
      const id = member.id;
      if (id === this.node.id) continue;
      const stats = peerStats.get(id);
      const progress = raft.progress.get(id);
      peers.push({
        id,
        name: this.node.memberName(id),
        address: member.peerUrls[0] ?? "",
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
      leaderName: this.node.memberName(raft.leader),
      commitIndex: raft.commit,
      appliedIndex: this.node.appliedIndex,
      lastLogIndex: this.node.lastLogIndex,
      peers,
      clusterId: this.node.clusterId,
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
