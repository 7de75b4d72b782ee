// Admission of messages arriving from the network: anything malformed, local
// only or misaddressed is dropped before the protocol sees it, so odd input
// can never trip an invariant assertion inside the core. Senders outside our
// configuration are admitted, as in etcd-io/raft: a member that is joining
// knows nobody until the leader's first message, and answers from removed
// members are ignored by the leader's progress lookup.

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
  "MsgSnap",
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

function isIdList(value: unknown): boolean {
  return Array.isArray(value) && value.every((id) => isIndex(id) && id > 0);
}

/** A MsgSnap's snapshot: a positive index and term and a well-formed configuration. */
function isWellFormedSnapshot(snapshot: unknown): boolean {
  if (typeof snapshot !== "object" || snapshot === null) {
    return false;
  }
  const s = snapshot as { meta?: unknown; data?: unknown };
  if (typeof s.meta !== "object" || s.meta === null || !(s.data instanceof Uint8Array)) {
    return false;
  }
  const meta = s.meta as { index?: unknown; term?: unknown; confState?: unknown };
  if (!isIndex(meta.index) || !isIndex(meta.term) || meta.index === 0 || meta.term === 0) {
    return false;
  }
  const conf = meta.confState as { voters?: unknown; learners?: unknown } | null | undefined;
  return (
    typeof conf === "object" && conf !== null && isIdList(conf.voters) && isIdList(conf.learners)
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
 * True if `m` may be stepped into the node `selfId`.
 * Term-less requests (MsgProp, MsgReadIndex) are forwarded by followers; every
 * other type must carry a term.
 */
export function isAcceptablePeerMessage(m: Message, selfId: NodeId): boolean {
  if (typeof m !== "object" || m === null || typeof m.type !== "string") {
    return false;
  }
  if (!NETWORK_TYPES.has(m.type) || LOCAL_MESSAGE_TYPES.has(m.type)) {
    return false;
  }
  if (!hasWellFormedFields(m) || m.to !== selfId || m.from === selfId || m.from === 0) {
    return false;
  }
  switch (m.type) {
    case "MsgProp":
      return m.entries.length > 0;
    case "MsgReadIndex":
      return true;
    case "MsgApp":
      return m.term > 0 && hasConsistentAppend(m);
    case "MsgSnap":
      return (
        m.term > 0 && isWellFormedSnapshot(m.snapshot) && (m.snapshot?.meta.term ?? 0) <= m.term
      );
    default:
      return m.term > 0;
  }
}
