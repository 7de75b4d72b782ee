// etcd's Cluster service: MemberList, and the membership changes MemberAdd,
// MemberRemove, MemberUpdate and MemberPromote. A change is checked and
// proposed by the leader, which knows how far each member has caught up and
// who is started; another member passes the request on to it unchanged.
// Checks, with etcd's errors: URLs well formed and unused; at most one
// learner; a learner is promoted only once within 10% of the leader's log;
// strict reconfiguration (a change must leave enough started voters for a
// quorum). Removing the leader first hands leadership to another voter.
import { Client, credentials, type ServiceError } from "@grpc/grpc-js";
import type { etcdserverpb } from "../gen/etcd.js";
import type { NodeId } from "../raft/types.js";
import type { ClusterChangeKind } from "../state/cluster-members.js";
import { callUnary, type TypedMethod } from "../transport/grpc-codec.js";
import { ConfigError, parseAddress } from "./config.js";
import { CairnError, ForwardedError } from "./errors.js";
import { addedMemberId } from "./ids.js";
import { throwApplyError } from "./kv-handlers.js";
import type { RaftNode } from "./raft-node.js";
import { CLUSTER_SERVICE } from "./services.js";
import type { StatusHandlers } from "./status-handlers.js";

/** etcd 3.4: at most one learner. */
export const LEARNERS_MAX = 1;
/** A learner may be promoted once its log holds 90% of the leader's. */
export const PROMOTE_CAUGHT_UP_RATIO = 0.9;
const RETRY_MS = 50;
/** A member heard from within this many election timeouts counts as started. */
const STARTED_CONTACT_ELECTIONS = 3;

export interface ClusterServiceDeps {
  readonly node: RaftNode;
  readonly status: StatusHandlers;
  readonly clusterToken: string;
  readonly requestTimeoutMs: number;
  readonly electionTimeoutMs: number;
}

function quorum(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/** Peer URLs as etcd takes them (http://host:port), stored as host:port. */
function parsePeerUrls(urls: readonly string[]): string[] {
  if (urls.length === 0) {
    throw new CairnError(
      "INVALID_ARGUMENT",
      "etcdserver: given member URLs are invalid (none given)",
    );
  }
  try {
    return urls.map((url) => parseAddress("peer-urls", url));
  } catch (error) {
    const detail = error instanceof ConfigError ? error.message : String(error);
    throw new CairnError(
      "INVALID_ARGUMENT",
      `etcdserver: given member URLs are invalid: ${detail}`,
    );
  }
}

export class ClusterHandlers {
  private readonly leaderClients = new Map<string, Client>();

  constructor(private readonly deps: ClusterServiceDeps) {}

  close(): void {
    for (const client of this.leaderClients.values()) client.close();
    this.leaderClients.clear();
  }

  async memberAdd(
    request: etcdserverpb.MemberAddRequest,
  ): Promise<etcdserverpb.MemberAddResponse.$Properties> {
    const forwarded = await this.forwardUnlessLeader(CLUSTER_SERVICE.MemberAdd, request);
    if (forwarded !== null) return forwarded;
    const peerUrls = parsePeerUrls(request.peerURLs);
    this.refuseTakenUrls(peerUrls, 0);
    const members = this.deps.node.stateMachine.clusterMembers.list();
    if (request.isLearner) {
      if (members.filter((m) => m.isLearner).length >= LEARNERS_MAX) {
        throw new CairnError("TOO_MANY_LEARNERS");
      }
    } else {
      this.requireStartedQuorum(this.voters().length + 1, this.startedVoters().length);
    }
    const memberId = addedMemberId(peerUrls[0] ?? "", this.deps.clusterToken, Date.now());
    const change: ClusterChangeKind = request.isLearner ? "add-learner" : "add-voter";
    await this.propose(change, memberId, peerUrls);
    return {
      header: this.header(),
      member: {
        ID: memberId,
        name: "",
        peerURLs: peerUrls.map((u) => `http://${u}`),
        clientURLs: [],
        isLearner: request.isLearner,
      },
      members: this.deps.status.members(),
    };
  }

  async memberRemove(
    request: etcdserverpb.MemberRemoveRequest,
  ): Promise<etcdserverpb.MemberRemoveResponse.$Properties> {
    const forwarded = await this.forwardUnlessLeader(CLUSTER_SERVICE.MemberRemove, request);
    if (forwarded !== null) return forwarded;
    const id = request.ID;
    const member = this.deps.node.stateMachine.clusterMembers.get(id);
    if (member === undefined) throw new CairnError("MEMBER_NOT_FOUND");
    if (!member.isLearner) {
      const startedAfter = this.startedVoters().filter((voter) => voter !== id).length;
      this.requireStartedQuorum(this.voters().length - 1, startedAfter);
    }
    if (id === this.deps.node.id) {
      // A leader cannot commit its own removal and then lead: hand over first,
      // then let the new leader remove us.
      await this.handOffLeadership();
      const again = await this.forwardUnlessLeader(CLUSTER_SERVICE.MemberRemove, request);
      if (again !== null) return again;
      throw new CairnError("LEADER_CHANGED");
    }
    await this.propose("remove", id, []);
    return { header: this.header(), members: this.deps.status.members() };
  }

  async memberUpdate(
    request: etcdserverpb.MemberUpdateRequest,
  ): Promise<etcdserverpb.MemberUpdateResponse.$Properties> {
    const forwarded = await this.forwardUnlessLeader(CLUSTER_SERVICE.MemberUpdate, request);
    if (forwarded !== null) return forwarded;
    if (this.deps.node.stateMachine.clusterMembers.get(request.ID) === undefined) {
      throw new CairnError("MEMBER_NOT_FOUND");
    }
    const peerUrls = parsePeerUrls(request.peerURLs);
    this.refuseTakenUrls(peerUrls, request.ID);
    await this.propose("update", request.ID, peerUrls);
    return { header: this.header(), members: this.deps.status.members() };
  }

  async memberPromote(
    request: etcdserverpb.MemberPromoteRequest,
  ): Promise<etcdserverpb.MemberPromoteResponse.$Properties> {
    const forwarded = await this.forwardUnlessLeader(CLUSTER_SERVICE.MemberPromote, request);
    if (forwarded !== null) return forwarded;
    const member = this.deps.node.stateMachine.clusterMembers.get(request.ID);
    if (member === undefined) throw new CairnError("MEMBER_NOT_FOUND");
    if (!member.isLearner) throw new CairnError("MEMBER_NOT_LEARNER");
    const status = this.deps.node.status();
    const match = status.progress.get(request.ID)?.match ?? 0;
    if (match < status.lastIndex * PROMOTE_CAUGHT_UP_RATIO) {
      throw new CairnError("LEARNER_NOT_READY");
    }
    this.requireStartedQuorum(this.voters().length + 1, this.startedVoters().length + 1);
    await this.propose("promote", request.ID, []);
    return { header: this.header(), members: this.deps.status.members() };
  }

  // ---------------------------------------------------------------- helpers

  private voters(): NodeId[] {
    return [...this.deps.node.configuration.voters];
  }

  /**
   * Voters that are up as far as this leader can tell (itself included): its
   * stream to them is connected, or it heard from them lately. Connection
   * state, like etcd's, rather than message timing alone, so a busy event
   * loop does not make healthy members look down.
   */
  private startedVoters(): NodeId[] {
    const nowMs = Date.now();
    const stats = this.deps.node.transport.peerStats();
    return this.voters().filter((id) => {
      if (id === this.deps.node.id) return true;
      const peer = stats.get(id);
      const last = peer?.lastContactMs ?? null;
      const recent =
        last !== null && nowMs - last <= STARTED_CONTACT_ELECTIONS * this.deps.electionTimeoutMs;
      return peer?.connected === true || recent;
    });
  }

  /** etcd --strict-reconfig-check: refuse a change that would leave no started quorum. */
  private requireStartedQuorum(votersAfter: number, startedAfter: number): void {
    if (votersAfter > 0 && startedAfter < quorum(votersAfter)) {
      throw new CairnError("NOT_ENOUGH_STARTED_MEMBERS");
    }
  }

  private refuseTakenUrls(peerUrls: readonly string[], exceptId: NodeId): void {
    for (const member of this.deps.node.stateMachine.clusterMembers.list()) {
      if (member.id === exceptId) continue;
      if (member.peerUrls.some((url) => peerUrls.includes(url))) {
        throw new CairnError("PEER_URL_EXISTS");
      }
    }
  }

  /** Proposes the change, retrying while an earlier change is still being applied. */
  private async propose(
    change: ClusterChangeKind,
    memberId: NodeId,
    peerUrls: readonly string[],
  ): Promise<void> {
    const deadline = Date.now() + this.deps.requestTimeoutMs;
    for (;;) {
      try {
        const result = await this.deps.node.proposeMemberChange({
          kind: "cluster-member",
          change,
          memberId,
          name: "",
          peerUrls,
        });
        if (result.kind !== "cluster-member") throwApplyError(result);
        return;
      } catch (error) {
        const pending = error instanceof CairnError && error.code === "CONF_CHANGE_PENDING";
        if (!pending || Date.now() + RETRY_MS >= deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }

  private header(): etcdserverpb.ResponseHeader.$Properties {
    return this.deps.status.header(this.deps.node.stateMachine.kv.revision);
  }

  /** Leader: hands leadership to the most caught-up started voter. */
  private async handOffLeadership(): Promise<void> {
    const status = this.deps.node.status();
    const candidates = this.startedVoters()
      .filter((id) => id !== this.deps.node.id)
      .sort((a, b) => (status.progress.get(b)?.match ?? 0) - (status.progress.get(a)?.match ?? 0));
    const target = candidates[0];
    if (target === undefined) throw new CairnError("NOT_ENOUGH_STARTED_MEMBERS");
    await this.deps.node.transferLeadership(target, 2 * this.deps.electionTimeoutMs);
  }

  /**
   * null when this member leads (the caller handles the request); otherwise
   * the leader's answer to the same request, or its error passed on.
   */
  private async forwardUnlessLeader<ReqW, ReqR, ResW, ResR>(
    method: TypedMethod<"unary", ReqW, ReqR, ResW, ResR>,
    request: ReqW,
  ): Promise<ResR | null> {
    const node = this.deps.node;
    if (node.isLeader) return null;
    const leader = node.leaderId;
    if (leader === 0) throw new CairnError("NO_LEADER");
    const url = node.stateMachine.memberAttributes.get(leader)?.clientUrls[0];
    if (url === undefined) {
      throw new CairnError(
        "UNAVAILABLE",
        "etcdserver: the leader has not published its client URL yet; retry",
      );
    }
    const client = this.clientFor(url);
    try {
      return await callUnary(client, method, request, {
        deadline: Date.now() + this.deps.requestTimeoutMs,
      });
    } catch (error) {
      const status = error as Partial<ServiceError>;
      if (typeof status.code === "number" && typeof status.details === "string") {
        throw new ForwardedError(status.code, status.details);
      }
      throw error;
    }
  }

  private clientFor(url: string): Client {
    const address = url.replace(/^https?:\/\//, "");
    let client = this.leaderClients.get(address);
    if (client === undefined) {
      client = new Client(address, credentials.createInsecure());
      this.leaderClients.set(address, client);
    }
    return client;
  }
}
