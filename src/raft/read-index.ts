// ReadIndex (thesis §6.4), safe mode: the leader answers a read with its commit
// index only after it has committed an entry of its own term and a heartbeat
// quorum has confirmed it is still leader. Followers forward reads to it.

import type { ProposeResult } from "./config.js";
import { READ_INDEX_QUEUE_MAX } from "./config.js";
import type { Raft } from "./raft.js";
import type { ReadIndexRequest } from "./read-only.js";
import { bcastHeartbeat } from "./replication.js";
import type { NodeId } from "./types.js";

export interface PendingRead {
  readonly from: NodeId;
  readonly context: Uint8Array;
}

export function leaderReadIndex(r: Raft, read: PendingRead): ProposeResult {
  if (r.tracker.isSingleton()) {
    // No one else could have been elected: our commit index is current.
    respondToRead(r, { index: r.log.committed, from: read.from, context: read.context });
    return { ok: true };
  }
  if (r.pendingReads.length + r.readOnly.pendingCount >= READ_INDEX_QUEUE_MAX) {
    r.event("read-index-dropped", { term: r.term, from: read.from, reason: "queue full" });
    return { ok: false, reason: "too-many-reads" };
  }
  if (!r.committedEntryInCurrentTerm()) {
    // Our commit index may lag entries earlier leaders committed (Figure 8):
    // wait until our no-op commits.
    r.pendingReads.push(read);
    return { ok: true };
  }
  const position = r.readOnly.add({ index: r.log.committed, ...read });
  r.readOnly.recvAck(r.id, position);
  // Reads arriving before the next Ready share one heartbeat round.
  r.readBroadcastPending = true;
  return { ok: true };
}

/** Starts the confirmation round for the reads batched since the last one. */
export function flushReadIndexBroadcast(r: Raft): void {
  if (r.role === "leader" && r.readBroadcastPending) {
    r.readBroadcastPending = false;
    bcastHeartbeat(r);
  }
}

export function releasePendingReads(r: Raft): void {
  if (r.pendingReads.length === 0 || !r.committedEntryInCurrentTerm()) {
    return;
  }
  const pending = r.pendingReads;
  r.pendingReads = [];
  for (const read of pending) {
    leaderReadIndex(r, read);
  }
}

export function respondToRead(r: Raft, request: ReadIndexRequest): void {
  if (request.from === r.id) {
    r.readStates.push({ index: request.index, requestContext: request.context });
    return;
  }
  r.send({
    type: "MsgReadIndexResp",
    to: request.from,
    index: request.index,
    context: request.context,
  });
}
