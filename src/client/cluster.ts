// The cluster's Raft membership (etcd's Cluster service): list, add a voter
// or learner, promote a learner, change a member's peer URLs, remove one.
// Changes are writes: retried only when they provably never reached a member.
import type { etcdserverpb } from "../gen/etcd.js";
import type { CallOptions, Invoker } from "./invoker.js";
import {
  CLUSTER_MEMBER_ADD,
  CLUSTER_MEMBER_LIST,
  CLUSTER_MEMBER_PROMOTE,
  CLUSTER_MEMBER_REMOVE,
  CLUSTER_MEMBER_UPDATE,
} from "./methods.js";

export interface ClusterMember {
  readonly id: number;
  /** "" until an added member has started and published its name. */
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly isLearner: boolean;
}

function fromProto(member: etcdserverpb.Member.$Properties): ClusterMember {
  return {
    id: member.ID ?? 0,
    name: member.name ?? "",
    peerUrls: [...(member.peerURLs ?? [])],
    clientUrls: [...(member.clientURLs ?? [])],
    isLearner: member.isLearner ?? false,
  };
}

export interface AddMemberOptions extends CallOptions {
  /** Add as a non-voting learner, to be promoted once caught up. */
  readonly learner?: boolean;
}

export class ClusterApi {
  constructor(private readonly invoker: Invoker) {}

  async list(options: CallOptions = {}): Promise<ClusterMember[]> {
    const response = await this.invoker.unary(
      CLUSTER_MEMBER_LIST,
      {},
      { ...options, safety: "read" },
    );
    return response.members.map(fromProto);
  }

  /** Adds a member by its peer URLs; returns it (with the id it must start with) and the new list. */
  async add(
    peerUrls: readonly string[],
    options: AddMemberOptions = {},
  ): Promise<{ member: ClusterMember; members: ClusterMember[] }> {
    const response = await this.invoker.unary(
      CLUSTER_MEMBER_ADD,
      { peerURLs: [...peerUrls], isLearner: options.learner ?? false },
      { ...options, safety: "write" },
    );
    return {
      member: fromProto(response.member ?? {}),
      members: response.members.map(fromProto),
    };
  }

  async remove(id: number, options: CallOptions = {}): Promise<ClusterMember[]> {
    const response = await this.invoker.unary(
      CLUSTER_MEMBER_REMOVE,
      { ID: id },
      { ...options, safety: "write" },
    );
    return response.members.map(fromProto);
  }

  async promote(id: number, options: CallOptions = {}): Promise<ClusterMember[]> {
    const response = await this.invoker.unary(
      CLUSTER_MEMBER_PROMOTE,
      { ID: id },
      { ...options, safety: "write" },
    );
    return response.members.map(fromProto);
  }

  async update(
    id: number,
    peerUrls: readonly string[],
    options: CallOptions = {},
  ): Promise<ClusterMember[]> {
    const response = await this.invoker.unary(
      CLUSTER_MEMBER_UPDATE,
      { ID: id, peerURLs: [...peerUrls] },
      { ...options, safety: "write" },
    );
    return response.members.map(fromProto);
  }
}
