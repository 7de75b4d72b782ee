// Converts between the Raft core's Message and the cairn.raft.v1 wire types,
// and frames whole batches and acks as bytes. Encoding trusts the core (bad
// values are bugs → assert); decoding trusts nothing and throws WireFormatError.

import { cairn } from "../gen/raft.js";
import type {
  ConfState,
  Entry,
  EntryKind,
  Message,
  MessageType,
  NodeId,
  Snapshot,
} from "../raft/types.js";
import { assert } from "../util/assert.js";
import { WireFormatError } from "./errors.js";

const wire = cairn.raft.v1;
type WireMessage = cairn.raft.v1.Message.$Properties;

/** One frame of the peer stream, as both ends see it after decoding. */
export interface Batch {
  readonly from: NodeId;
  readonly clusterId: number;
  /** Nonzero asks the receiver to echo it back in a StreamAck (RTT probe). */
  readonly pingId: number;
  readonly messages: readonly Message[];
}

const MESSAGE_TYPE_TO_WIRE: Readonly<Record<MessageType, cairn.raft.v1.MessageType>> = {
  MsgHup: wire.MessageType.MESSAGE_TYPE_HUP,
  MsgBeat: wire.MessageType.MESSAGE_TYPE_BEAT,
  MsgCheckQuorum: wire.MessageType.MESSAGE_TYPE_CHECK_QUORUM,
  MsgProp: wire.MessageType.MESSAGE_TYPE_PROP,
  MsgApp: wire.MessageType.MESSAGE_TYPE_APP,
  MsgAppResp: wire.MessageType.MESSAGE_TYPE_APP_RESP,
  MsgVote: wire.MessageType.MESSAGE_TYPE_VOTE,
  MsgVoteResp: wire.MessageType.MESSAGE_TYPE_VOTE_RESP,
  MsgPreVote: wire.MessageType.MESSAGE_TYPE_PRE_VOTE,
  MsgPreVoteResp: wire.MessageType.MESSAGE_TYPE_PRE_VOTE_RESP,
  MsgHeartbeat: wire.MessageType.MESSAGE_TYPE_HEARTBEAT,
  MsgHeartbeatResp: wire.MessageType.MESSAGE_TYPE_HEARTBEAT_RESP,
  MsgReadIndex: wire.MessageType.MESSAGE_TYPE_READ_INDEX,
  MsgReadIndexResp: wire.MessageType.MESSAGE_TYPE_READ_INDEX_RESP,
  MsgSnap: wire.MessageType.MESSAGE_TYPE_SNAP,
  MsgSnapStatus: wire.MessageType.MESSAGE_TYPE_SNAP_STATUS,
  MsgUnreachable: wire.MessageType.MESSAGE_TYPE_UNREACHABLE,
  MsgTransferLeader: wire.MessageType.MESSAGE_TYPE_TRANSFER_LEADER,
  MsgTimeoutNow: wire.MessageType.MESSAGE_TYPE_TIMEOUT_NOW,
};

const MESSAGE_TYPE_FROM_WIRE: ReadonlyMap<number, MessageType> = new Map(
  (Object.keys(MESSAGE_TYPE_TO_WIRE) as MessageType[]).map((t) => [MESSAGE_TYPE_TO_WIRE[t], t]),
);

const ENTRY_KIND_TO_WIRE: Readonly<Record<EntryKind, cairn.raft.v1.EntryKind>> = {
  normal: wire.EntryKind.ENTRY_KIND_NORMAL,
  "conf-change": wire.EntryKind.ENTRY_KIND_CONF_CHANGE,
};

const ENTRY_KIND_FROM_WIRE: ReadonlyMap<number, EntryKind> = new Map(
  (Object.keys(ENTRY_KIND_TO_WIRE) as EntryKind[]).map((k) => [ENTRY_KIND_TO_WIRE[k], k]),
);

// ---------------------------------------------------------------- encoding

function assertUint(value: number, field: string): number {
  assert(Number.isSafeInteger(value), `${field} must be a safe integer, got ${value}`);
  assert(value >= 0, `${field} must not be negative, got ${value}`);
  return value;
}

function entryToWire(entry: Entry): cairn.raft.v1.Entry.$Properties {
  return {
    term: assertUint(entry.term, "entry.term"),
    index: assertUint(entry.index, "entry.index"),
    kind: ENTRY_KIND_TO_WIRE[entry.kind],
    data: entry.data,
  };
}

function confStateToWire(conf: ConfState): cairn.raft.v1.ConfState.$Properties {
  return {
    voters: conf.voters.map((id) => assertUint(id, "confState.voters")),
    learners: conf.learners.map((id) => assertUint(id, "confState.learners")),
  };
}

function snapshotToWire(snapshot: Snapshot): cairn.raft.v1.Snapshot.$Properties {
  return {
    meta: {
      index: assertUint(snapshot.meta.index, "snapshot.meta.index"),
      term: assertUint(snapshot.meta.term, "snapshot.meta.term"),
      confState: confStateToWire(snapshot.meta.confState),
    },
    data: snapshot.data,
  };
}

/** The proto form of a core Message; every field is set so nothing depends on proto defaults. */
export function messageToWire(message: Message): WireMessage {
  const out: WireMessage = {
    type: MESSAGE_TYPE_TO_WIRE[message.type],
    to: assertUint(message.to, "message.to"),
    from: assertUint(message.from, "message.from"),
    term: assertUint(message.term, "message.term"),
    logTerm: assertUint(message.logTerm, "message.logTerm"),
    index: assertUint(message.index, "message.index"),
    entries: message.entries.map(entryToWire),
    commit: assertUint(message.commit, "message.commit"),
    reject: message.reject,
    rejectHint: assertUint(message.rejectHint, "message.rejectHint"),
    context: message.context,
  };
  if (message.snapshot !== null) {
    out.snapshot = snapshotToWire(message.snapshot);
  }
  assert(out.type !== undefined, `no wire type for ${message.type}`);
  return out;
}

export function encodeBatch(batch: Batch): Uint8Array {
  assert(batch.from > 0, "a batch names its sender");
  assertUint(batch.pingId, "batch.pingId");
  const bytes = wire.MessageBatch.encode({
    from: assertUint(batch.from, "batch.from"),
    clusterId: assertUint(batch.clusterId, "batch.clusterId"),
    pingId: batch.pingId,
    messages: batch.messages.map(messageToWire),
  }).finish();
  assert(bytes.byteLength > 0, "a batch with a sender encodes to at least one field");
  return bytes;
}

export function encodeAck(pingId: number): Uint8Array {
  assert(pingId > 0, "an ack echoes a ping, so its id is nonzero");
  return wire.StreamAck.encode({ pingId: assertUint(pingId, "ack.pingId") }).finish();
}

// ---------------------------------------------------------------- decoding

interface LongLike {
  readonly low: number;
  readonly high: number;
}

function isLongLike(value: unknown): value is LongLike {
  if (typeof value !== "object" || value === null) return false;
  return (
    typeof (value as LongLike).low === "number" && typeof (value as LongLike).high === "number"
  );
}

/**
 * A decoded uint64 as a JS number. protobufjs hands back a Long unless its
 * runtime was configured without one (pbjs --force-number only changes the
 * typings), so accept both and refuse anything past 2^53 rather than round it.
 */
export function wireUint(value: unknown, field: string): number {
  let n: number;
  if (typeof value === "number") {
    n = value;
  } else if (isLongLike(value)) {
    n = (value.high >>> 0) * 2 ** 32 + (value.low >>> 0);
  } else {
    throw new WireFormatError(field, `${field} must be an unsigned integer`);
  }
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new WireFormatError(field, `${field} must be an integer in 0..2^53-1, got ${n}`);
  }
  return n;
}

/** Copies so a decoded value never pins the whole received frame in memory. */
function ownBytes(value: Uint8Array | null | undefined): Uint8Array {
  const copy = new Uint8Array(value?.byteLength ?? 0);
  if (value) copy.set(value);
  return copy;
}

function entryFromWire(w: cairn.raft.v1.Entry.$Properties, field: string): Entry {
  const kind = ENTRY_KIND_FROM_WIRE.get(w.kind ?? 0);
  if (kind === undefined) {
    throw new WireFormatError(`${field}.kind`, `${field}.kind: unknown entry kind ${w.kind}`);
  }
  return {
    term: wireUint(w.term ?? 0, `${field}.term`),
    index: wireUint(w.index ?? 0, `${field}.index`),
    kind,
    data: ownBytes(w.data),
  };
}

function snapshotFromWire(w: cairn.raft.v1.Snapshot.$Properties, field: string): Snapshot {
  const meta = w.meta;
  if (!meta) throw new WireFormatError(`${field}.meta`, `${field}.meta is required`);
  const conf = meta.confState;
  if (!conf) {
    throw new WireFormatError(`${field}.meta.confState`, `${field}.meta.confState is required`);
  }
  const voters = (conf.voters ?? []).map((id, i) => wireUint(id, `${field}.voters[${i}]`));
  const learners = (conf.learners ?? []).map((id, i) => wireUint(id, `${field}.learners[${i}]`));
  return {
    meta: {
      index: wireUint(meta.index ?? 0, `${field}.meta.index`),
      term: wireUint(meta.term ?? 0, `${field}.meta.term`),
      confState: { voters, learners },
    },
    data: ownBytes(w.data),
  };
}

/** Validates and converts one decoded proto message; `field` prefixes error paths. */
export function messageFromWire(w: WireMessage, field = "message"): Message {
  const type = MESSAGE_TYPE_FROM_WIRE.get(w.type ?? 0);
  if (type === undefined) {
    throw new WireFormatError(`${field}.type`, `${field}.type: unknown message type ${w.type}`);
  }
  const entries = (w.entries ?? []).map((e, i) => entryFromWire(e, `${field}.entries[${i}]`));
  return {
    type,
    to: wireUint(w.to ?? 0, `${field}.to`),
    from: wireUint(w.from ?? 0, `${field}.from`),
    term: wireUint(w.term ?? 0, `${field}.term`),
    logTerm: wireUint(w.logTerm ?? 0, `${field}.logTerm`),
    index: wireUint(w.index ?? 0, `${field}.index`),
    entries,
    commit: wireUint(w.commit ?? 0, `${field}.commit`),
    reject: w.reject === true,
    rejectHint: wireUint(w.rejectHint ?? 0, `${field}.rejectHint`),
    context: ownBytes(w.context),
    snapshot: w.snapshot ? snapshotFromWire(w.snapshot, `${field}.snapshot`) : null,
  };
}

function decodeWire<T>(decode: (bytes: Uint8Array) => T, bytes: Uint8Array, what: string): T {
  try {
    return decode(bytes);
  } catch (error) {
    // protobufjs throws RangeError/Error on truncated or malformed input.
    const reason = error instanceof Error ? error.message : String(error);
    throw new WireFormatError(what, `${what}: undecodable protobuf (${reason})`, { cause: error });
  }
}

export function decodeBatch(bytes: Uint8Array): Batch {
  const w = decodeWire((b) => wire.MessageBatch.decode(b), bytes, "batch");
  const messages = (w.messages ?? []).map((m, i) => messageFromWire(m, `batch.messages[${i}]`));
  return {
    from: wireUint(w.from ?? 0, "batch.from"),
    clusterId: wireUint(w.clusterId ?? 0, "batch.clusterId"),
    pingId: wireUint(w.pingId ?? 0, "batch.pingId"),
    messages,
  };
}

/** Returns the echoed ping id (0 if none). */
export function decodeAck(bytes: Uint8Array): number {
  const w = decodeWire((b) => wire.StreamAck.decode(b), bytes, "ack");
  return wireUint(w.pingId ?? 0, "ack.pingId");
}

/** Single-message framing, for callers that carry a Message outside a batch. */
export function encodeMessage(message: Message): Uint8Array {
  return wire.Message.encode(messageToWire(message)).finish();
}

export function decodeMessage(bytes: Uint8Array): Message {
  return messageFromWire(decodeWire((b) => wire.Message.decode(b), bytes, "message"));
}
