// Message handling while leader: forwarded proposals and reads, answers to
// MsgApp and heartbeats, and leadership transfer (catch the target up, then
// tell it to campaign at once with MsgTimeoutNow).

import type { Raft } from "./raft.js";
import { leaderReadIndex } from "./read-index.js";
import {
  handleAppendResponse,
  handleHeartbeatResponse,
  sendAppend,
  sendTimeoutNow,
} from "./replication.js";
import { proposeAsLeader } from "./requests.js";
import { type Message, NO_NODE, type NodeId } from "./types.js";

export function stepLeader(r: Raft, m: Message): void {
  switch (m.type) {
    case "MsgProp":
      if (m.entries.length > 0) {
        proposeAsLeader(
          r,
          m.entries.map((entry) => ({ kind: entry.kind, data: entry.data })),
        );
      }
      return;
    case "MsgReadIndex":
      leaderReadIndex(r, { from: m.from, context: m.context });
      return;
    case "MsgTransferLeader":
      stepLeaderTransfer(r, m.from);
      return;
    default:
      break;
  }
  const pr = r.tracker.get(m.from);
  if (pr === undefined) {
    return;
  }
  switch (m.type) {
    case "MsgAppResp":
      handleAppendResponse(r, m, pr);
      return;
    case "MsgHeartbeatResp":
      handleHeartbeatResponse(r, m, pr);
      return;
    default:
      // Vote answers from a finished election, MsgTimeoutNow, ...: nothing to do.
      return;
  }
}

export function stepLeaderTransfer(r: Raft, target: NodeId): void {
  const pr = r.tracker.get(target);
  if (pr === undefined || target === r.id || !r.tracker.isVoter(target)) {
    // Leading already, or the target cannot lead: it is not a voter.
    const reason = target === r.id ? "already leader" : "not a voter";
    r.event("leader-transfer-ignored", { term: r.term, to: target, reason });
    return;
  }
  if (r.leadTransferee !== NO_NODE) {
    if (r.leadTransferee === target) {
      return; // Already under way.
    }
    r.event("leader-transfer-aborted", { term: r.term, to: r.leadTransferee });
  }
  r.event("leader-transfer-start", { term: r.term, to: target });
  // The transfer must finish within one election timeout or it is abandoned.
  r.electionElapsed = 0;
  r.leadTransferee = target;
  if (pr.match === r.log.lastIndex()) {
    sendTimeoutNow(r, target);
  } else {
    sendAppend(r, target);
  }
}
