// The node's peer port: a gRPC server for inbound Raft streams plus one
// outbound PeerStream per peer. send() groups a Ready's messages by peer and
// hands each group to its stream as one batch; it never blocks or throws on I/O.
// Snapshots travel apart from the streams: sendSnapshot() streams one to a peer
// (snapshot-sender.ts, one at a time per peer) and inbound ones go to the
// options' snapshotHandler (snapshot-receiver.ts, one at a time).

import type { ChannelCredentials } from "@grpc/grpc-js";
import { credentials as grpcCredentials, Server, ServerCredentials, status } from "@grpc/grpc-js";
import { LOCAL_MESSAGE_TYPES, type Message, type NodeId } from "../raft/types.js";
import { assert } from "../util/assert.js";
import { ListenError } from "./errors.js";
import { addTypedService } from "./grpc-codec.js";
import { InboundStreams } from "./inbound-stream.js";
import { LinkFaults } from "./link-faults.js";
import { PeerCounters, type PeerStats } from "./peer-stats.js";
import { PeerStream } from "./peer-stream.js";
import { PEER_SERVER_OPTIONS, RAFT_SERVICE } from "./raft-service.js";
import { SnapshotBusyError, SnapshotSendError } from "./snapshot-errors.js";
import { type SnapshotHandler, SnapshotReceiver } from "./snapshot-receiver.js";
import {
  type OutboundSnapshot,
  type SnapshotSendResult,
  type SnapshotSendTestHooks,
  sendSnapshot,
} from "./snapshot-sender.js";
import { SILENT_LOGGER, type TransportLogger } from "./transport-logger.js";

export const QUEUED_MESSAGES_PER_PEER_MAX_DEFAULT = 4_096;
export const QUEUED_BYTES_PER_PEER_MAX_DEFAULT = 64 * 1024 * 1024;
export const PING_INTERVAL_MS_DEFAULT = 1_000;
/** After this, stop() stops waiting for in-flight streams and forces the server down. */
export const SHUTDOWN_GRACE_MS = 2_000;
/** Bounds the set of unknown destinations we have already warned about. */
const UNKNOWN_PEER_WARNINGS_MAX = 64;

/** Insecure by default; pass TLS credentials for both sides of the peer port. */
export interface PeerCredentials {
  readonly server: ServerCredentials;
  readonly channel: ChannelCredentials;
}

export interface PeerTransportOptions {
  readonly selfId: NodeId;
  readonly clusterId: number;
  /** "host:port"; port 0 picks a free port, reported by start(). */
  readonly listenAddress: string;
  readonly peers: ReadonlyMap<NodeId, string>;
  /** Called once per received batch with messages validated to be for selfId. */
  readonly onMessages: (messages: Message[]) => void;
  readonly logger?: TransportLogger;
  readonly maxQueuedMessagesPerPeer?: number;
  readonly maxQueuedBytesPerPeer?: number;
  /** Called when messages to a peer are dropped or its stream goes down. */
  readonly onUnreachable?: (peer: NodeId) => void;
  readonly credentials?: PeerCredentials;
  readonly pingIntervalMs?: number;
  /** Adds further services to the peer port's server before it starts listening. */
  readonly registerServices?: (server: Server) => void;
  /** Takes inbound snapshots; without one, InstallSnapshot is refused. */
  readonly snapshotHandler?: SnapshotHandler;
  /** How long an inbound transfer may wait for the sender's next chunk. */
  readonly snapshotIdleTimeoutMs?: number;
  /** A new inbound transfer preempts one whose sender has been silent this long. */
  readonly snapshotPreemptIdleMs?: number;
}

export interface SendSnapshotCallOptions {
  readonly signal?: AbortSignal;
  readonly chunkBytesTarget?: number;
  readonly chunksInFlightMax?: number;
  readonly testHooks?: SnapshotSendTestHooks;
}

interface Peer {
  readonly stream: PeerStream;
  readonly counters: PeerCounters;
}

function validateOptions(options: PeerTransportOptions): void {
  assert(Number.isSafeInteger(options.selfId), "selfId must be an integer");
  assert(options.selfId > 0, "selfId must be positive");
  assert(
    Number.isSafeInteger(options.clusterId) && options.clusterId >= 0,
    "clusterId must be a uint",
  );
  assert(!options.peers.has(options.selfId), "peers must not include selfId");
  assert((options.maxQueuedMessagesPerPeer ?? 1) > 0, "maxQueuedMessagesPerPeer must be positive");
  assert((options.pingIntervalMs ?? 1) > 0, "pingIntervalMs must be positive");
}

export class PeerTransport {
  /** Test-only fault injection on this node's links (see link-faults.ts). */
  readonly faults: LinkFaults = new LinkFaults();
  private readonly peers = new Map<NodeId, Peer>();
  private readonly inbound: InboundStreams;
  private readonly snapshots: SnapshotReceiver;
  /** One outbound snapshot per peer; stop() aborts them. */
  private readonly outboundSnapshots = new Map<NodeId, AbortController>();
  private readonly logger: TransportLogger;
  private readonly credentials: PeerCredentials;
  private readonly warnedUnknownPeers = new Set<NodeId>();
  /** Streams of removed or re-addressed peers, still closing; stop() waits for them. */
  private readonly closing = new Set<Promise<void>>();
  private lifecycle: "new" | "starting" | "running" | "stopped" = "new";
  private server: Server | null = null;
  private pingTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: PeerTransportOptions) {
    validateOptions(options);
    this.logger = options.logger ?? SILENT_LOGGER;
    this.credentials = options.credentials ?? {
      server: ServerCredentials.createInsecure(),
      channel: grpcCredentials.createInsecure(),
    };
    this.inbound = new InboundStreams({
      selfId: options.selfId,
      clusterId: options.clusterId,
      faults: this.faults,
      logger: this.logger,
      onMessages: options.onMessages,
      countersFor: (peer) => this.peers.get(peer)?.counters ?? null,
    });
    this.snapshots = new SnapshotReceiver({
      selfId: options.selfId,
      clusterId: options.clusterId,
      handler: options.snapshotHandler ?? null,
      faults: this.faults,
      logger: this.logger,
      ...(options.snapshotIdleTimeoutMs === undefined
        ? {}
        : { idleTimeoutMs: options.snapshotIdleTimeoutMs }),
      ...(options.snapshotPreemptIdleMs === undefined
        ? {}
        : { preemptIdleMs: options.snapshotPreemptIdleMs }),
    });
    for (const [id, address] of options.peers) this.addPeer(id, address);
  }

  /** Binds the peer port and starts dialing every peer. */
  async start(): Promise<{ port: number }> {
    assert(this.lifecycle === "new", `start() on a ${this.lifecycle} transport`);
    this.lifecycle = "starting";
    const server = new Server(PEER_SERVER_OPTIONS);
    addTypedService(server, RAFT_SERVICE, {
      Stream: this.inbound.handle,
      InstallSnapshot: this.snapshots.handle,
    });
    this.options.registerServices?.(server);
    let port: number;
    try {
      port = await bindServer(server, this.options.listenAddress, this.credentials.server);
    } catch (error) {
      server.forceShutdown();
      if (!this.hasStopped()) this.lifecycle = "new"; // a later start() may retry
      throw error;
    }
    if (this.hasStopped()) {
      // stop() ran while we were binding: it had no server to close yet.
      server.forceShutdown();
      return { port };
    }
    this.server = server;
    this.lifecycle = "running";
    for (const peer of this.peers.values()) peer.stream.start();
    const pingIntervalMs = this.options.pingIntervalMs ?? PING_INTERVAL_MS_DEFAULT;
    this.pingTimer = setInterval(() => this.pingAll(), pingIntervalMs);
    this.pingTimer.unref();
    this.logger.info({ self: this.options.selfId, port }, "peer transport listening");
    return { port };
  }

  /**
   * Groups by destination; each peer gets one batch per call, in call order.
   * Before start() messages queue (bounded); after stop() they are discarded.
   */
  send(messages: readonly Message[]): void {
    if (this.lifecycle === "stopped") return;
    const byPeer = new Map<NodeId, Message[]>();
    for (const message of messages) {
      assert(message.from === this.options.selfId, `sending a message from ${message.from}`);
      assert(message.to !== this.options.selfId, "sending a message to self");
      assert(!LOCAL_MESSAGE_TYPES.has(message.type), `${message.type} is local-only`);
      const group = byPeer.get(message.to);
      if (group) group.push(message);
      else byPeer.set(message.to, [message]);
    }
    for (const [to, group] of byPeer) {
      const peer = this.peers.get(to);
      if (peer) peer.stream.send(group);
      else this.unknownDestination(to);
    }
  }

  /**
   * Streams `snapshot` (an export of this node's applied state) to peer `to`
   * on a connection of its own. Resolves once the peer staged and accepted
   * it; rejects with SnapshotSendError (peer down, refused, bad chunk…),
   * SnapshotAbortedError (signal, or stop()), SnapshotBusyError (a transfer
   * to `to` is already running), or the export's own error. Never retried here.
   */
  async sendSnapshot(
    to: NodeId,
    snapshot: OutboundSnapshot,
    options: SendSnapshotCallOptions = {},
  ): Promise<SnapshotSendResult> {
    assert(to !== this.options.selfId, "sending a snapshot to self");
    const peer = this.peers.get(to);
    if (this.lifecycle !== "running") {
      throw new SnapshotSendError(to, status.UNAVAILABLE, `peer transport is ${this.lifecycle}`);
    }
    if (peer === undefined) {
      throw new SnapshotSendError(to, status.UNAVAILABLE, `no known address for node ${to}`);
    }
    if (this.faults.outbound(to).drop) {
      throw new SnapshotSendError(to, status.UNAVAILABLE, `link to node ${to} cut by a fault rule`);
    }
    if (this.outboundSnapshots.has(to)) {
      throw new SnapshotBusyError(`a snapshot to node ${to} is already being sent`);
    }
    const stopper = new AbortController();
    this.outboundSnapshots.set(to, stopper);
    const signal =
      options.signal === undefined
        ? stopper.signal
        : AbortSignal.any([options.signal, stopper.signal]);
    try {
      return await sendSnapshot({
        ...options,
        selfId: this.options.selfId,
        clusterId: this.options.clusterId,
        peerId: to,
        address: peer.stream.address,
        credentials: this.credentials.channel,
        snapshot,
        signal,
      });
    } finally {
      this.outboundSnapshots.delete(to);
    }
  }

  /** Adds a peer, or moves it to a new address (its stream restarts). */
  addPeer(id: NodeId, address: string): void {
    assert(id !== this.options.selfId, "cannot add self as a peer");
    assert(address.length > 0, "peer address must not be empty");
    const existing = this.peers.get(id);
    if (existing?.stream.address === address) return;
    if (existing) this.closeInBackground(existing.stream);
    const counters = existing?.counters ?? new PeerCounters();
    const stream = new PeerStream({
      selfId: this.options.selfId,
      clusterId: this.options.clusterId,
      peerId: id,
      address,
      credentials: this.credentials.channel,
      queuedMessagesMax:
        this.options.maxQueuedMessagesPerPeer ?? QUEUED_MESSAGES_PER_PEER_MAX_DEFAULT,
      queuedBytesMax: this.options.maxQueuedBytesPerPeer ?? QUEUED_BYTES_PER_PEER_MAX_DEFAULT,
      faults: this.faults,
      counters,
      logger: this.logger,
      onUnreachable: (peer) => this.options.onUnreachable?.(peer),
    });
    this.peers.set(id, { stream, counters });
    this.warnedUnknownPeers.delete(id);
    if (this.lifecycle === "running") stream.start();
  }

  /** Stops sending to a peer; messages it still sends us are delivered (Raft decides). */
  removePeer(id: NodeId): void {
    const peer = this.peers.get(id);
    if (!peer) return;
    this.peers.delete(id);
    this.closeInBackground(peer.stream);
  }

  peerStats(): ReadonlyMap<NodeId, PeerStats> {
    const stats = new Map<NodeId, PeerStats>();
    for (const [id, peer] of this.peers) stats.set(id, peer.counters.snapshot());
    return stats;
  }

  /** Half-closes outbound streams, ends inbound ones, then shuts the server down. */
  async stop(): Promise<void> {
    if (this.lifecycle === "stopped") return;
    this.lifecycle = "stopped";
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = null;
    for (const stopper of this.outboundSnapshots.values()) stopper.abort();
    await Promise.all([...this.peers.values()].map((peer) => peer.stream.close()));
    await Promise.all(this.closing);
    this.inbound.closeAll();
    // Before the server goes: an inbound transfer's staging is aborted, not left behind.
    await this.snapshots.close();
    const server = this.server;
    this.server = null;
    if (server) await shutdownServer(server, SHUTDOWN_GRACE_MS);
    this.logger.info({ self: this.options.selfId }, "peer transport stopped");
  }

  /** A method, not an inline check, because stop() may flip it across an await. */
  private hasStopped(): boolean {
    return this.lifecycle === "stopped";
  }

  private pingAll(): void {
    for (const peer of this.peers.values()) peer.stream.ping();
  }

  private unknownDestination(to: NodeId): void {
    this.options.onUnreachable?.(to);
    if (
      this.warnedUnknownPeers.has(to) ||
      this.warnedUnknownPeers.size >= UNKNOWN_PEER_WARNINGS_MAX
    ) {
      return;
    }
    this.warnedUnknownPeers.add(to);
    this.logger.warn({ peer: to }, "dropping messages for a peer with no known address");
  }

  private closeInBackground(stream: PeerStream): void {
    const closed = stream
      .close()
      .catch((error: unknown) => {
        this.logger.warn(
          { address: stream.address, err: String(error) },
          "closing peer stream failed",
        );
      })
      .finally(() => this.closing.delete(closed));
    this.closing.add(closed);
  }
}

function bindServer(
  server: Server,
  address: string,
  credentials: ServerCredentials,
): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (error, port) => {
      if (error) reject(new ListenError(address, { cause: error }));
      else resolve(port);
    });
  });
}

function shutdownServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
