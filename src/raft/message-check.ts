// Admission of messages arriving from the network: anything malformed, local
// only, misaddressed or from a non-member is dropped before the protocol sees
// it, so odd input can never trip an invariant assertion inside the core.

import { LOCAL_MESSAGE_TYPES, type Message, type MessageType, type NodeId } from "./types.js";

const NETWORK_TYPES: ReadonlySet<string> = new Set<MessageType>([
  "MsgProp",
  "MsgApp",
  "MsgAppResp",
  "MsgVote",
  "MsgVoteResp",
  "MsgPreVote",
  "MsgPreVoteResp",
  "MsgHeartbeat",
  "MsgHeartbeatResp",
  "MsgReadIndex",
  "MsgReadIndexResp",
  "MsgTransferLeader",
  "MsgTimeoutNow",
]);

const ENTRY_KINDS: ReadonlySet<string> = new Set(["normal", "conf-change"]);

function isIndex(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function isWellFormedEntry(entry: unknown): boolean {
  if (typeof entry !== "object" || entry === null) {
    return false;
  }
  const e = entry as Record<string, unknown>;
  return (
    isIndex(e.index) &&
    isIndex(e.term) &&
    typeof e.kind === "string" &&
    ENTRY_KINDS.has(e.kind) &&
    e.data instanceof Uint8Array
  );
}

function hasWellFormedFields(m: Message): boolean {
  return (
    isIndex(m.to) &&
    isIndex(m.from) &&
    isIndex(m.term) &&
    isIndex(m.logTerm) &&
    isIndex(m.index) &&
    isIndex(m.commit) &&
    isIndex(m.rejectHint) &&
    typeof m.reject === "boolean" &&
    m.context instanceof Uint8Array &&
    Array.isArray(m.entries) &&
    m.entries.every(isWellFormedEntry)
  );
}

/** MsgApp entries must directly follow (index, logTerm), with terms in [logTerm, term]. */
function hasConsistentAppend(m: Message): boolean {
  let previousTerm = m.logTerm;
  for (let i = 0; i < m.entries.length; i++) {
    const entry = m.entries[i];
    if (entry === undefined || entry.index !== m.index + 1 + i) {
      return false;
    }
    if (entry.term < previousTerm || entry.term > m.term || entry.term === 0) {
      return false;
    }
    previousTerm = entry.term;
  }
  return m.logTerm <= m.term;
}

/**
 * True if `m` may be stepped into the node `selfId` whose peers are `isMember`.
 * Term-less requests (MsgProp, MsgReadIndex) are forwarded by followers; every
 * other type must carry a term.
 */
export function isAcceptablePeerMessage(
  m: Message,
  selfId: NodeId,
  isMember: (id: NodeId) => boolean,
): boolean {
  if (typeof m !== "object" || m === null || typeof m.type !== "string") {
    return false;
  }
  if (!NETWORK_TYPES.has(m.type) || LOCAL_MESSAGE_TYPES.has(m.type)) {
    return false;
  }
  if (!hasWellFormedFields(m) || m.to !== selfId || m.from === selfId || !isMember(m.from)) {
    return false;
  }
  switch (m.type) {
    case "MsgProp":
      return m.entries.length > 0;
    case "MsgReadIndex":
      return true;
    case "MsgApp":
      return m.term > 0 && hasConsistentAppend(m);
    default:
      return m.term > 0;
  }
}
