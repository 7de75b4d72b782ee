// The Raft membership as cairn records it: every member's id, name, peer
// URLs and whether it is a learner. Changed only by configuration-change
// entries (and the bootstrap entries every new cluster starts its log with),
// so every member, and every snapshot, agrees on it. The Raft core keeps the
// matching voter/learner sets; this table adds what the shell needs to reach
// and name the members.
import { Packr } from "msgpackr";
import { assert } from "../util/assert.js";
import type { TableWrite } from "./table-write.js";

export interface ClusterMember {
  readonly id: number;
  /** Empty for a member added by MemberAdd that has not started yet (as in etcd). */
  readonly name: string;
  /** host:port addresses of the member's peer port. */
  readonly peerUrls: readonly string[];
  readonly isLearner: boolean;
}

/**
 * add-voter / add-learner: a new member. promote: a learner becomes a voter.
 * remove: the member leaves. update: new peer URLs.
 */
export type ClusterChangeKind = "add-voter" | "add-learner" | "promote" | "remove" | "update";

export type ClusterChangeError = "member-not-found" | "member-exists" | "member-not-learner";

export const CLUSTER_MEMBERS_TABLE = "cluster-members";
const packr = new Packr({ useRecords: false, moreTypes: false });

function rowKey(id: number): Uint8Array {
  const key = Buffer.alloc(6);
  key.writeUIntBE(id, 0, 6);
  return key;
}

export class ClusterMembersTable {
  private readonly members = new Map<number, ClusterMember>();

  get(id: number): ClusterMember | undefined {
    return this.members.get(id);
  }

  /** Every member, by id. */
  list(): ClusterMember[] {
    return [...this.members.values()].sort((a, b) => a.id - b.id);
  }

  /** Why `kind` cannot apply to member `id` now, or null. Pure: handlers pre-check with it. */
  refusal(kind: ClusterChangeKind, id: number): ClusterChangeError | null {
    const current = this.members.get(id);
    switch (kind) {
      case "add-voter":
      case "add-learner":
        return current === undefined ? null : "member-exists";
      case "promote":
        if (current === undefined) return "member-not-found";
        return current.isLearner ? null : "member-not-learner";
      case "remove":
      case "update":
        return current === undefined ? "member-not-found" : null;
      default: {
        const never: never = kind;
        throw new Error(`unknown cluster change ${String(never)}`);
      }
    }
  }

  /** Applies a checked change; returns the table writes. */
  apply(
    kind: ClusterChangeKind,
    member: { id: number; name: string; peerUrls: readonly string[] },
  ): TableWrite[] {
    assert(this.refusal(kind, member.id) === null, `cluster change ${kind} must be checked first`);
    const current = this.members.get(member.id);
    let next: ClusterMember | null;
    switch (kind) {
      case "add-voter":
      case "add-learner":
        next = { ...member, peerUrls: [...member.peerUrls], isLearner: kind === "add-learner" };
        break;
      case "promote":
        assert(current !== undefined, "promote needs a member");
        next = { ...current, isLearner: false };
        break;
      case "update":
        assert(current !== undefined, "update needs a member");
        next = { ...current, peerUrls: [...member.peerUrls] };
        break;
      case "remove":
        next = null;
        break;
      default: {
        const never: never = kind;
        throw new Error(`unknown cluster change ${String(never)}`);
      }
    }
    if (next === null) {
      this.members.delete(member.id);
      return [{ table: CLUSTER_MEMBERS_TABLE, key: rowKey(member.id), value: null }];
    }
    this.members.set(member.id, next);
    const value = packr.pack({ name: next.name, peerUrls: next.peerUrls, learner: next.isLearner });
    return [{ table: CLUSTER_MEMBERS_TABLE, key: rowKey(member.id), value }];
  }

  loadRow(key: Uint8Array, value: Uint8Array): void {
    assert(key.byteLength === 6, "cluster member keys are 6 bytes");
    const stored = packr.unpack(value) as { name: string; peerUrls: string[]; learner: boolean };
    const id = Buffer.from(key).readUIntBE(0, 6);
    this.members.set(id, {
      id,
      name: stored.name,
      peerUrls: stored.peerUrls,
      isLearner: stored.learner,
    });
  }
}
