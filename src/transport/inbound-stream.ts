// The receiving half of peer links: serves Raft.Stream, validates every frame
// (cluster, sender, recipient, message types), applies inbound link faults,
// hands messages to the node and echoes pings. A bad frame ends that stream
// with a status the sender logs; it never reaches the Raft core.

import type { ServerDuplexStream } from "@grpc/grpc-js";
import { Metadata, status } from "@grpc/grpc-js";
import { LOCAL_MESSAGE_TYPES, type Message, type NodeId } from "../raft/types.js";
import { assert } from "../util/assert.js";
import { TRACE_ENABLED, trace } from "../util/latency-trace.js";
import { type Batch, decodeAck, decodeBatch, encodeAck } from "./codec.js";
import { ClusterMismatchError, TRANSPORT_ERROR_STATUS, WireFormatError } from "./errors.js";
import type { LinkFaults } from "./link-faults.js";
import type { PeerCounters } from "./peer-stats.js";
import type { TransportLogger } from "./transport-logger.js";

/** Bounds messages held by an inbound delay fault across all peers; beyond it they are lost. */
export const INBOUND_DELAYED_MESSAGES_MAX = 16_384;
/** Honest peers hold one stream each (two across a reconnect); more is a leak or an attack. */
export const INBOUND_STREAMS_MAX = 256;

type ServerCall = ServerDuplexStream<Uint8Array, Uint8Array>;

export interface InboundOptions {
  readonly selfId: NodeId;
  readonly clusterId: number;
  readonly faults: LinkFaults;
  readonly logger: TransportLogger;
  readonly onMessages: (messages: Message[]) => void;
  /** Counters of a known peer, or null for a sender we have no link to (still delivered). */
  readonly countersFor: (peer: NodeId) => PeerCounters | null;
}

/** What a stream has established so far: the sender is fixed by its first frame. */
interface StreamContext {
  peer: NodeId | null;
  rejected: boolean;
}

/**
 * Checks a decoded batch against this node. Throws ClusterMismatchError or
 * WireFormatError; returns the sender. Pure, so it is tested without sockets.
 */
export function validateInboundBatch(
  batch: Batch,
  expected: { readonly selfId: NodeId; readonly clusterId: number; readonly peer: NodeId | null },
): NodeId {
  if (batch.clusterId !== expected.clusterId) {
    throw new ClusterMismatchError(expected.clusterId, batch.clusterId);
  }
  if (batch.from === 0 || batch.from === expected.selfId) {
    throw new WireFormatError("batch.from", `batch.from must be a peer's id, got ${batch.from}`);
  }
  if (expected.peer !== null && batch.from !== expected.peer) {
    throw new WireFormatError(
      "batch.from",
      `stream from ${expected.peer} sent a batch from ${batch.from}`,
    );
  }
  batch.messages.forEach((m, i) => {
    const field = `batch.messages[${i}]`;
    if (m.to !== expected.selfId) {
      throw new WireFormatError(
        `${field}.to`,
        `${field} is for node ${m.to}, this is ${expected.selfId}`,
      );
    }
    if (m.from !== batch.from) {
      throw new WireFormatError(`${field}.from`, `${field}.from ${m.from} differs from batch.from`);
    }
    if (LOCAL_MESSAGE_TYPES.has(m.type)) {
      throw new WireFormatError(`${field}.type`, `${field}: ${m.type} is local-only`);
    }
  });
  return batch.from;
}

export class InboundStreams {
  private readonly calls = new Set<ServerCall>();
  private delayedMessages = 0;
  private readonly delayTimers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly options: InboundOptions) {}

  /** The grpc-js handler for Raft.Stream. */
  readonly handle = (call: ServerCall): void => {
    if (this.closed) {
      call.emit("error", { code: status.UNAVAILABLE, details: "node is stopping" });
      return;
    }
    if (this.calls.size >= INBOUND_STREAMS_MAX) {
      this.options.logger.warn({ streams: this.calls.size }, "too many inbound peer streams");
      const details = `at most ${INBOUND_STREAMS_MAX} inbound peer streams`;
      call.emit("error", { code: status.RESOURCE_EXHAUSTED, details });
      return;
    }
    this.calls.add(call);
    const context: StreamContext = { peer: null, rejected: false };
    // Headers now, so the dialer learns the link is up before it sends anything.
    call.sendMetadata(new Metadata());
    call.on("data", (bytes: Uint8Array) => this.onFrame(call, context, bytes));
    call.on("end", () => call.end());
    call.on("error", () => this.calls.delete(call));
    call.on("close", () => this.calls.delete(call));
  };

  /** Ends every inbound stream with OK so peers see a clean close and the server can drain. */
  closeAll(): void {
    this.closed = true;
    for (const timer of this.delayTimers) clearTimeout(timer);
    this.delayTimers.clear();
    for (const call of this.calls) call.end();
    this.calls.clear();
  }

  private onFrame(call: ServerCall, context: StreamContext, bytes: Uint8Array): void {
    if (context.rejected || this.closed) return;
    if (TRACE_ENABLED) trace("frame-in", bytes.byteLength);
    let batch: Batch;
    try {
      batch = decodeBatch(bytes);
      context.peer = validateInboundBatch(batch, { ...this.options, peer: context.peer });
    } catch (error) {
      if (error instanceof WireFormatError || error instanceof ClusterMismatchError) {
        this.reject(call, context, error);
        return;
      }
      throw error;
    }
    this.accept(call, batch, bytes.byteLength);
  }

  private accept(call: ServerCall, batch: Batch, byteCount: number): void {
    const { faults, countersFor, onMessages } = this.options;
    const rule = faults.inbound(batch.from);
    if (rule.drop) {
      faults.countDropped(batch.from, "in", batch.messages.length);
      return;
    }
    countersFor(batch.from)?.recordReceived(byteCount, Date.now());
    if (batch.pingId !== 0 && !faults.outbound(batch.from).drop) {
      const ack = encodeAck(batch.pingId);
      assert(decodeAck(ack) === batch.pingId, "ack encodes the ping id it echoes");
      call.write(ack);
    }
    const messages = batch.messages.filter(() => !faults.shouldLose(rule));
    const lost = batch.messages.length - messages.length;
    if (lost > 0) faults.countDropped(batch.from, "in", lost);
    if (messages.length === 0) return;
    if (rule.delayMs === 0) {
      onMessages(messages);
      return;
    }
    if (this.delayedMessages + messages.length > INBOUND_DELAYED_MESSAGES_MAX) return;
    this.delayedMessages += messages.length;
    const timer = setTimeout(() => {
      this.delayTimers.delete(timer);
      this.delayedMessages -= messages.length;
      onMessages(messages);
    }, rule.delayMs);
    this.delayTimers.add(timer);
  }

  private reject(
    call: ServerCall,
    context: StreamContext,
    error: WireFormatError | ClusterMismatchError,
  ): void {
    context.rejected = true;
    this.options.logger.warn(
      { peer: context.peer, code: error.code, reason: error.message },
      "rejected peer stream",
    );
    // grpc-js turns an 'error' on a server stream into the call's final status.
    call.emit("error", { code: TRANSPORT_ERROR_STATUS[error.code], details: error.message });
  }
}
