// The sending half of one directed peer link: owns the long-lived gRPC stream
// to one peer, its bounded outbound queue, reconnect backoff and RTT pings.
// What the peer sends us arrives on its own stream (inbound-stream.ts).

import type { ChannelCredentials, ClientDuplexStream, StatusObject } from "@grpc/grpc-js";
import { Client } from "@grpc/grpc-js";
import type { Message, NodeId } from "../raft/types.js";
import { assert } from "../util/assert.js";
import { TRACE_ENABLED, trace } from "../util/latency-trace.js";
import { decodeAck, encodeBatch } from "./codec.js";
import { WireFormatError } from "./errors.js";
import { openBidiStream } from "./grpc-codec.js";
import type { LinkFaults } from "./link-faults.js";
import type { PeerCounters } from "./peer-stats.js";
import { PEER_CHANNEL_OPTIONS, RAFT_STREAM_METHOD } from "./raft-service.js";
import type { TransportLogger } from "./transport-logger.js";

export const RECONNECT_BACKOFF_MS_MIN = 50;
export const RECONNECT_BACKOFF_MS_MAX = 2_000;
/** Queued batches older than this are stale for Raft (it will have re-sent); drop them. */
export const QUEUED_BATCH_AGE_MS_MAX = 5_000;
/** How long close() waits for the peer to acknowledge our half-close. */
export const CLOSE_GRACE_MS = 1_000;

export interface PeerStreamOptions {
  readonly selfId: NodeId;
  readonly clusterId: number;
  readonly peerId: NodeId;
  readonly address: string;
  readonly credentials: ChannelCredentials;
  readonly queuedMessagesMax: number;
  readonly queuedBytesMax: number;
  readonly faults: LinkFaults;
  readonly counters: PeerCounters;
  readonly logger: TransportLogger;
  readonly onUnreachable: (peer: NodeId) => void;
}

type Call = ClientDuplexStream<Uint8Array, Uint8Array>;

/** idle: no call (not started, or waiting out the backoff); connecting: call opened, no answer yet. */
type StreamState =
  | { readonly kind: "idle" }
  | { readonly kind: "connecting"; readonly call: Call }
  | { readonly kind: "up"; readonly call: Call; backpressured: boolean }
  | { readonly kind: "closed" };

interface QueuedBatch {
  readonly bytes: Uint8Array;
  readonly messageCount: number;
  readonly queuedAtMs: number;
}

/** Equal jitter: half fixed, half random, so peers that failed together retry apart. */
export function jitteredBackoffMs(baseMs: number, random: () => number): number {
  assert(baseMs > 0, "backoff base must be positive");
  return Math.round(baseMs / 2 + (random() * baseMs) / 2);
}

export class PeerStream {
  private state: StreamState = { kind: "idle" };
  private readonly client: Client;
  /** Invariant: when up and not backpressured, the queue is empty (flush drains it). */
  private readonly queue: QueuedBatch[] = [];
  private queuedMessages = 0;
  private queuedBytes = 0;
  /** Messages held by an outbound delay fault; they count against the queue bound. */
  private delayedMessages = 0;
  private readonly delayTimers = new Set<NodeJS.Timeout>();
  private reconnectTimer: NodeJS.Timeout | null = null;
  private backoffMs = RECONNECT_BACKOFF_MS_MIN;
  /** Last transition we logged, so retries stay quiet. */
  private reported: "unknown" | "up" | "down" = "unknown";
  private overflowReported = false;
  private pingSequence = 0;
  private pingInFlight: { readonly id: number; readonly sentAtMs: number } | null = null;

  constructor(private readonly options: PeerStreamOptions) {
    assert(options.peerId !== options.selfId, "a node has no peer stream to itself");
    assert(options.queuedMessagesMax > 0, "queuedMessagesMax must be positive");
    this.client = new Client(options.address, options.credentials, PEER_CHANNEL_OPTIONS);
  }

  get address(): string {
    return this.options.address;
  }

  start(): void {
    assert(this.state.kind === "idle", `peer ${this.options.peerId} stream started twice`);
    assert(this.reconnectTimer === null, "a stream that never connected has no reconnect timer");
    this.connect();
  }

  /** Everything here becomes one batch (unless faults drop or delay it). Never blocks. */
  send(messages: readonly Message[]): void {
    assert(messages.length > 0, "send of an empty batch");
    if (this.state.kind === "closed") return;
    const { faults, peerId } = this.options;
    const rule = faults.outbound(peerId);
    const kept = rule.drop ? [] : messages.filter(() => !faults.shouldLose(rule));
    if (kept.length < messages.length) {
      faults.countDropped(peerId, "out", messages.length - kept.length);
    }
    if (kept.length === 0) return;
    if (rule.delayMs === 0) {
      this.enqueue(kept);
      return;
    }
    if (!this.hasRoomFor(kept.length, 0)) {
      this.overflow(kept.length);
      return;
    }
    this.delayedMessages += kept.length;
    const timer = setTimeout(() => {
      this.delayTimers.delete(timer);
      this.delayedMessages -= kept.length;
      if (this.state.kind !== "closed") this.enqueue(kept);
    }, rule.delayMs);
    this.delayTimers.add(timer);
  }

  /** Sends an RTT probe if the stream is up and idle; called on the transport's ping tick. */
  ping(): void {
    const state = this.state;
    if (state.kind !== "up" || state.backpressured) return;
    if (this.options.faults.outbound(this.options.peerId).drop) return;
    assert(this.queue.length === 0, "an idle up stream has an empty queue");
    this.pingSequence += 1;
    this.pingInFlight = { id: this.pingSequence, sentAtMs: performance.now() };
    const { selfId, clusterId } = this.options;
    this.write(
      state,
      encodeBatch({ from: selfId, clusterId, pingId: this.pingSequence, messages: [] }),
    );
  }

  /** Half-closes the stream, waits briefly for the peer to finish it, then drops the channel. */
  async close(): Promise<void> {
    const state = this.state;
    if (state.kind === "closed") return;
    this.state = { kind: "closed" };
    this.options.counters.connected = false;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    for (const timer of this.delayTimers) clearTimeout(timer);
    this.delayTimers.clear();
    this.queue.length = 0;
    if (state.kind === "up" || state.kind === "connecting") {
      await endGracefully(state.call, CLOSE_GRACE_MS);
    }
    this.client.close();
  }

  private hasRoomFor(messageCount: number, byteCount: number): boolean {
    const { queuedMessagesMax, queuedBytesMax } = this.options;
    const messages = this.queuedMessages + this.delayedMessages + messageCount;
    return messages <= queuedMessagesMax && this.queuedBytes + byteCount <= queuedBytesMax;
  }

  private enqueue(messages: readonly Message[]): void {
    if (!this.hasRoomFor(messages.length, 0)) {
      this.overflow(messages.length);
      return;
    }
    const { selfId, clusterId } = this.options;
    const bytes = encodeBatch({ from: selfId, clusterId, pingId: 0, messages });
    if (!this.hasRoomFor(messages.length, bytes.byteLength)) {
      this.overflow(messages.length);
      return;
    }
    this.queue.push({ bytes, messageCount: messages.length, queuedAtMs: performance.now() });
    this.queuedMessages += messages.length;
    this.queuedBytes += bytes.byteLength;
    this.flush();
  }

  /** Raft tolerates loss: drop, count, and tell the core the peer is unreachable. */
  private overflow(messageCount: number): void {
    this.options.counters.messagesDropped += messageCount;
    if (!this.overflowReported) {
      this.overflowReported = true;
      this.options.logger.warn(
        {
          peer: this.options.peerId,
          queuedMessages: this.queuedMessages,
          queuedBytes: this.queuedBytes,
        },
        "peer queue full, dropping messages",
      );
    }
    this.options.onUnreachable(this.options.peerId);
  }

  private flush(): void {
    const state = this.state;
    if (state.kind !== "up") return;
    const staleBeforeMs = performance.now() - QUEUED_BATCH_AGE_MS_MAX;
    while (!state.backpressured) {
      const batch = this.queue.shift();
      if (batch === undefined) break;
      this.queuedMessages -= batch.messageCount;
      this.queuedBytes -= batch.bytes.byteLength;
      if (batch.queuedAtMs < staleBeforeMs) {
        this.options.counters.messagesDropped += batch.messageCount;
        continue;
      }
      this.write(state, batch.bytes);
    }
    assert(this.queuedMessages >= 0, "queued message count went negative");
    if (this.queue.length === 0) this.overflowReported = false;
  }

  private write(state: { readonly call: Call; backpressured: boolean }, bytes: Uint8Array): void {
    this.options.counters.bytesSent += bytes.byteLength;
    if (TRACE_ENABLED) trace("frame-out", this.options.peerId, bytes.byteLength);
    // false = grpc-js buffered past its high-water mark; hold the rest until 'drain'.
    if (!state.call.write(bytes)) state.backpressured = true;
  }

  private connect(): void {
    assert(this.state.kind === "idle", "connect from a non-idle state");
    const call = openBidiStream(this.client, RAFT_STREAM_METHOD);
    this.state = { kind: "connecting", call };
    let failure = "stream ended by peer";
    call.on("metadata", () => this.onStreamUp(call));
    call.on("data", (bytes: Uint8Array) => this.onAck(call, bytes));
    call.on("drain", () => this.onDrain(call));
    // 'status' always follows 'error'; the listener also keeps 'error' from throwing.
    call.on("error", (error: Error) => {
      failure = error.message;
    });
    call.on("status", (status: StatusObject) => {
      this.onStreamEnded(call, status.code === 0 ? failure : `${status.code}: ${status.details}`);
    });
  }

  private isCurrent(call: Call): boolean {
    const state = this.state;
    return (state.kind === "up" || state.kind === "connecting") && state.call === call;
  }

  /** The peer's server answered with headers: the link is usable. */
  private onStreamUp(call: Call): void {
    if (!this.isCurrent(call)) return;
    this.state = { kind: "up", call, backpressured: false };
    this.options.counters.connected = true;
    if (this.reported !== "up") {
      this.reported = "up";
      this.options.logger.info({ peer: this.options.peerId, address: this.address }, "peer up");
    }
    this.flush();
  }

  private onDrain(call: Call): void {
    const state = this.state;
    if (state.kind !== "up" || state.call !== call) return;
    state.backpressured = false;
    this.flush();
  }

  private onAck(call: Call, bytes: Uint8Array): void {
    if (!this.isCurrent(call)) return;
    const { faults, peerId, counters } = this.options;
    if (faults.inbound(peerId).drop) return;
    counters.recordReceived(bytes.byteLength, Date.now());
    let pingId: number;
    try {
      pingId = decodeAck(bytes);
    } catch (error) {
      if (!(error instanceof WireFormatError)) throw error;
      this.options.logger.warn({ peer: peerId, err: error.message }, "bad ack from peer");
      call.cancel();
      return;
    }
    // A decoded ack proves a working round trip; only then is the next failure
    // treated as fresh, so a peer that accepts streams and then breaks them
    // is retried at the capped backoff rather than in a tight loop.
    this.backoffMs = RECONNECT_BACKOFF_MS_MIN;
    const ping = this.pingInFlight;
    if (ping !== null && ping.id === pingId) {
      counters.roundTripMs = performance.now() - ping.sentAtMs;
      this.pingInFlight = null;
    }
  }

  private onStreamEnded(call: Call, reason: string): void {
    if (!this.isCurrent(call)) return;
    this.state = { kind: "idle" };
    this.pingInFlight = null;
    this.options.counters.connected = false;
    if (this.reported !== "down") {
      this.reported = "down";
      this.options.logger.warn(
        { peer: this.options.peerId, address: this.address, reason },
        "peer down",
      );
      this.options.onUnreachable(this.options.peerId);
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    assert(this.reconnectTimer === null, "one reconnect timer at a time");
    const delayMs = jitteredBackoffMs(this.backoffMs, Math.random);
    this.backoffMs = Math.min(RECONNECT_BACKOFF_MS_MAX, this.backoffMs * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.state.kind === "idle") this.connect();
    }, delayMs);
    this.reconnectTimer.unref();
  }
}

function endGracefully(call: Call, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      call.cancel();
      resolve();
    }, graceMs);
    call.on("status", () => {
      clearTimeout(timer);
      resolve();
    });
    call.end();
  });
}
