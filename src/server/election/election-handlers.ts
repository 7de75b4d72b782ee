// etcd's Election calls over the lock queue: a candidate queues
// `<name>/<lease hex>` holding its value, the oldest key under `<name>/` is the
// leader, and Proclaim/Resign are Txns guarded by the leader key's create
// revision, so a deposed leader can neither overwrite nor delete a successor.
import type { v3electionpb } from "../../gen/etcd.js";
import type { KeyValue, PutOp, TxnResult } from "../../state/index.js";
import { CairnError } from "../errors.js";
import { requireKey, toProtoKv } from "../kv-codec.js";
import { throwApplyError } from "../kv-handlers.js";
import { isLeaseId } from "../lease/ttl.js";
import {
  claimQueue,
  holdQueue,
  type QueueDeps,
  releaseClaim,
  sessionLease,
} from "../lock/queue-claim.js";
import { ownerQuery, queuePrefix } from "../lock/queue-keys.js";
import { RecipeError } from "../lock/recipe-errors.js";

const EMPTY = new Uint8Array(0);

interface LeaderKey {
  readonly key: Uint8Array;
  readonly rev: number;
}

function requireLeader(leader: v3electionpb.ILeaderKey | null | undefined): LeaderKey {
  if (leader === null || leader === undefined) throw new RecipeError("MISSING_LEADER_KEY");
  return { key: requireKey(leader.key), rev: leader.rev ?? 0 };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

/** The current leader (oldest key under the prefix) in this member's state, if any. */
export function currentLeader(
  deps: Pick<QueueDeps, "node">,
  name: Uint8Array,
): KeyValue | undefined {
  const result = deps.node.stateMachine.range(ownerQuery(queuePrefix(name)));
  if (result.kind !== "range") return throwApplyError(result);
  return result.ok.kvs[0];
}

export class ElectionHandlers {
  constructor(private readonly deps: QueueDeps) {}

  async campaign(
    request: v3electionpb.CampaignRequest,
    signal: AbortSignal,
  ): Promise<v3electionpb.CampaignResponse.$Properties> {
    if (request.lease !== 0 && !isLeaseId(request.lease)) throw new CairnError("LEASE_NOT_FOUND");
    const leaseId = await sessionLease(this.deps, request.lease);
    const claim = await claimQueue(this.deps, request.name, leaseId, request.value);
    const leader = { key: claim.key, rev: claim.createRevision };
    // Re-campaigning with the same lease and a new value proclaims it, as etcd does.
    if (!claim.created && !sameBytes(claim.value, request.value)) {
      const proclaimed = await this.guardedPut(leader, request.value);
      if (!proclaimed.succeeded) throw new RecipeError("ELECTION_NOT_LEADER");
    }
    const lost = (): Error => new RecipeError("ELECTION_SESSION_EXPIRED");
    const revision = await holdQueue(this.deps, claim, signal, lost);
    return {
      header: this.deps.headers.header(revision),
      leader: { name: request.name, key: claim.key, rev: claim.createRevision, lease: leaseId },
    };
  }

  async proclaim(
    request: v3electionpb.ProclaimRequest,
  ): Promise<v3electionpb.ProclaimResponse.$Properties> {
    const leader = requireLeader(request.leader);
    // Revision 0 would match a missing key (create_revision 0): no leader has it.
    if (leader.rev < 1) throw new RecipeError("ELECTION_NOT_LEADER");
    const result = await this.guardedPut(leader, request.value);
    if (!result.succeeded) throw new RecipeError("ELECTION_NOT_LEADER");
    return { header: this.deps.headers.header(result.revision) };
  }

  /** As etcd: a resign whose guard fails (already deposed) still answers OK. */
  async resign(
    request: v3electionpb.ResignRequest,
  ): Promise<v3electionpb.ResignResponse.$Properties> {
    const leader = requireLeader(request.leader);
    const result = await releaseClaim(this.deps, {
      key: leader.key,
      createRevision: leader.rev,
    });
    return { header: this.deps.headers.header(result.revision) };
  }

  async leader(
    request: v3electionpb.LeaderRequest,
  ): Promise<v3electionpb.LeaderResponse.$Properties> {
    await this.deps.node.linearizableBarrier();
    const kv = currentLeader(this.deps, request.name);
    if (kv === undefined) throw new RecipeError("ELECTION_NO_LEADER");
    return {
      header: this.deps.headers.header(this.deps.node.stateMachine.kv.revision),
      kv: toProtoKv(kv),
    };
  }

  /**
   * The leader's new value, only while its key is the same incarnation. The
   * put keeps the key's own lease (ignore_lease): the value changes, the
   * leader's lifetime does not.
   */
  private async guardedPut(leader: LeaderKey, value: Uint8Array): Promise<TxnResult> {
    const put: PutOp = {
      kind: "put",
      key: leader.key,
      value,
      lease: 0,
      prevKv: false,
      ignoreValue: false,
      ignoreLease: true,
    };
    this.deps.gate.admit("write");
    const result = await this.deps.node.propose({
      kind: "txn",
      compare: [
        {
          key: leader.key,
          rangeEnd: EMPTY,
          target: "create",
          result: "equal",
          operand: leader.rev,
          value: EMPTY,
        },
      ],
      success: [put],
      failure: [],
    });
    if (result.kind !== "txn") throwApplyError(result);
    return result.ok;
  }
}
