// etcd's unary Lease calls. Grants and revokes go through Raft; TimeToLive and
// Leases read local state behind a linearizable barrier, so any member serves
// them without forwarding to the leader: expiry is an absolute time in the
// replicated state, and every member computes the same remaining TTL from it
// (up to clock skew between members).
import type { etcdserverpb } from "../../gen/etcd.js";
import { CairnError } from "../errors.js";
import { type HeaderSource, throwApplyError, type WriteGate } from "../kv-handlers.js";
import type { RaftNode } from "../raft-node.js";
import { isLeaseId, minLeaseTtlSeconds, planGrant } from "./ttl.js";

/** The parts of a member the lease calls use (a fake in unit tests). */
export type LeaseNode = Pick<RaftNode, "propose" | "linearizableBarrier" | "stateMachine">;

export interface LeaseHandlerDeps {
  readonly node: LeaseNode;
  readonly headers: HeaderSource;
  readonly gate: WriteGate;
  readonly electionTimeoutMs: number;
}

export class LeaseHandlers {
  private readonly minTtlSeconds: number;

  constructor(private readonly deps: LeaseHandlerDeps) {
    this.minTtlSeconds = minLeaseTtlSeconds(deps.electionTimeoutMs);
  }

  async grant(
    request: etcdserverpb.LeaseGrantRequest,
  ): Promise<etcdserverpb.LeaseGrantResponse.$Properties> {
    const plan = planGrant(request.ID, request.TTL, this.minTtlSeconds);
    // etcd's NOSPACE alarm refuses grants: a lease exists to carry new keys.
    this.deps.gate.admit("write");
    const result = await this.deps.node.propose({
      kind: "lease-grant",
      leaseId: plan.leaseId,
      ttlSeconds: plan.ttlSeconds,
    });
    if (result.kind !== "lease-grant") throwApplyError(result);
    return {
      header: this.deps.headers.header(result.ok.revision),
      ID: result.ok.id,
      TTL: result.ok.ttlSeconds,
    };
  }

  async revoke(
    request: etcdserverpb.LeaseRevokeRequest,
  ): Promise<etcdserverpb.LeaseRevokeResponse.$Properties> {
    // An id no lease can have is simply not found; nothing to propose.
    if (!isLeaseId(request.ID)) throw new CairnError("LEASE_NOT_FOUND");
    this.deps.gate.admit("delete");
    const result = await this.deps.node.propose({ kind: "lease-revoke", leaseId: request.ID });
    if (result.kind !== "lease-revoke") throwApplyError(result);
    return { header: this.deps.headers.header(result.ok.revision) };
  }

  async timeToLive(
    request: etcdserverpb.LeaseTimeToLiveRequest,
  ): Promise<etcdserverpb.LeaseTimeToLiveResponse.$Properties> {
    await this.deps.node.linearizableBarrier();
    const machine = this.deps.node.stateMachine;
    const header = this.deps.headers.header(machine.kv.revision);
    if (!isLeaseId(request.ID)) {
      return { header, ID: request.ID, TTL: -1 };
    }
    const answer = machine.timeToLive(request.ID, Date.now());
    const response: etcdserverpb.LeaseTimeToLiveResponse.$Properties = {
      header,
      ID: request.ID,
      TTL: answer.ttlSeconds,
      grantedTTL: answer.grantedTtlSeconds,
    };
    if (request.keys) response.keys = [...answer.keys];
    return response;
  }

  async leases(): Promise<etcdserverpb.LeaseLeasesResponse.$Properties> {
    await this.deps.node.linearizableBarrier();
    const machine = this.deps.node.stateMachine;
    return {
      header: this.deps.headers.header(machine.kv.revision),
      leases: machine.leases.leases().map((id) => ({ ID: id })),
    };
  }
}
