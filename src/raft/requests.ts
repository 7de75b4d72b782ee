// Requests from the local shell: campaigning, proposals, reads, leadership
// transfer and unreachability reports. A follower forwards proposals and
// reads to its leader; candidates refuse them (there is no one to forward to).

import { assertNever } from "../util/assert.js";
import type { ProposeResult } from "./config.js";
import { UNCOMMITTED_ENTRIES_MAX } from "./config.js";
import { hup } from "./election.js";
import type { Raft } from "./raft.js";
import { leaderReadIndex } from "./read-index.js";
import { bcastAppend } from "./replication.js";
import { stepLeaderTransfer } from "./step-leader.js";
import { type Entry, NO_NODE, type NodeId } from "./types.js";

export function campaign(r: Raft, reason: string): void {
  hup(r, r.preVote ? "pre-election" : "election", reason);
}

function proposalEntry(data: Uint8Array): Entry {
  // The leader stamps term and index when it appends.
  return { term: 0, index: 0, kind: "normal", data };
}

export function propose(r: Raft, data: Uint8Array): ProposeResult {
  switch (r.role) {
    case "leader":
      return proposeAsLeader(r, [data]);
    case "follower":
      if (r.lead === NO_NODE) {
        return { ok: false, reason: "no-leader" };
      }
      r.send({ type: "MsgProp", to: r.lead, entries: [proposalEntry(data)] });
      return { ok: true };
    case "pre-candidate":
    case "candidate":
      return { ok: false, reason: "no-leader" };
    default:
      return assertNever(r.role, "role");
  }
}

export function proposeAsLeader(r: Raft, datas: readonly Uint8Array[]): ProposeResult {
  if (r.leadTransferee !== NO_NODE) {
    return { ok: false, reason: "transferring-leadership" };
  }
  if (r.log.lastIndex() - r.log.committed >= UNCOMMITTED_ENTRIES_MAX) {
    return { ok: false, reason: "too-many-uncommitted" };
  }
  r.appendEntries(datas);
  bcastAppend(r);
  return { ok: true };
}

export function readIndex(r: Raft, context: Uint8Array): ProposeResult {
  if (r.role === "leader") {
    return leaderReadIndex(r, { from: r.id, context });
  }
  if (r.role !== "follower" || r.lead === NO_NODE) {
    return { ok: false, reason: "no-leader" };
  }
  r.send({ type: "MsgReadIndex", to: r.lead, context });
  return { ok: true };
}

/**
 * Leader: starts handing leadership to `target`. Follower: asks its leader for
 * leadership, but only for itself. etcd forwards any target with `from` set
 * to the transferee, a message the transferee never sent; cairn's transport
 * authenticates `from` as the sending peer, so only the transferee asks.
 */
export function transferLeader(r: Raft, target: NodeId): void {
  if (r.role === "leader") {
    stepLeaderTransfer(r, target);
  } else if (r.role === "follower" && r.lead !== NO_NODE && target === r.id) {
    r.send({ type: "MsgTransferLeader", to: r.lead });
  } else {
    r.event("leader-transfer-ignored", { term: r.term, to: target, role: r.role, leader: r.lead });
  }
}

export function reportUnreachable(r: Raft, id: NodeId): void {
  const pr = r.tracker.get(id);
  // A MsgApp was probably lost: stop streaming optimistically and probe again.
  if (r.role === "leader" && pr !== undefined && pr.state === "replicate") {
    pr.becomeProbe();
  }
}
