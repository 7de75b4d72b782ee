// A TCP proxy for ONE directed peer link (src → dst): src dials the proxy, the
// proxy dials dst. Every connection through it exists only to carry src's
// traffic to dst, so a fault here never touches dst → src, which travels on
// dst's own connection through another proxy: a one-way cut stays one-way.
//
// Faults: blackhole (bytes are read and discarded, sockets stay open like a
// DROP rule; connections that lost bytes are reset on heal because their byte
// stream has a hole), delay ± jitter (order kept), loss (a lost chunk breaks
// the byte stream, so that connection is reset), and reset (RST everything now).
import { connect, createServer, type Server, type Socket } from "node:net";

export interface LinkShape {
  readonly delayMs: number;
  readonly jitterMs: number;
  /** Per forwarded chunk, 0..100; a lost chunk resets its connection. */
  readonly lossPct: number;
}

export const NO_SHAPE: LinkShape = Object.freeze({ delayMs: 0, jitterMs: 0, lossPct: 0 });
/** Past this many delayed bytes on one connection the source is paused (backpressure). */
export const DELAYED_BYTES_MAX = 8 * 1024 * 1024;
/** Bounds the connections one link may hold (a peer reconnecting in a loop). */
export const CONNECTIONS_MAX = 256;

export interface LinkProxyOptions {
  readonly name: string;
  readonly targetHost: string;
  readonly targetPort: number;
  readonly listenHost?: string;
  /** [0, 1); injectable for tests. */
  readonly random?: () => number;
}

export interface LinkProxyStats {
  connectionsAccepted: number;
  bytesForwarded: number;
  bytesDiscarded: number;
  chunksLost: number;
  connectionsClosed: number;
}

interface Connection {
  readonly client: Socket;
  upstream: Socket | null;
  /** Bytes were discarded: the stream is corrupt, reset it on heal. */
  tainted: boolean;
  /** When the last delayed chunk per direction is due; keeps chunks in order. */
  forwardDueMs: number;
  delayedBytes: number;
}

export class LinkProxy {
  readonly stats: LinkProxyStats = {
    connectionsAccepted: 0,
    bytesForwarded: 0,
    bytesDiscarded: 0,
    chunksLost: 0,
    connectionsClosed: 0,
  };
  private readonly connections = new Set<Connection>();
  private readonly random: () => number;
  private server: Server | null = null;
  private blackholed = false;
  private linkShape: LinkShape = NO_SHAPE;
  private listenPort = 0;

  constructor(private readonly options: LinkProxyOptions) {
    this.random = options.random ?? Math.random;
  }

  get name(): string {
    return this.options.name;
  }

  /** host:port to dial instead of the target. */
  get address(): string {
    return `${this.options.listenHost ?? "127.0.0.1"}:${this.listenPort}`;
  }

  get port(): number {
    return this.listenPort;
  }

  get isBlackholed(): boolean {
    return this.blackholed;
  }

  get shape(): LinkShape {
    return this.linkShape;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  async start(port = 0): Promise<string> {
    const server = createServer((socket) => this.accept(socket));
    server.maxConnections = CONNECTIONS_MAX;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, this.options.listenHost ?? "127.0.0.1", () => resolve());
    });
    const address = server.address();
    this.listenPort = typeof address === "object" && address !== null ? address.port : 0;
    this.server = server;
    return this.address;
  }

  /** Everything src sends (and dst answers on these connections) vanishes. */
  cut(): void {
    this.blackholed = true;
  }

  setShape(shape: LinkShape): void {
    this.linkShape = { ...shape };
  }

  /** Clears cut and shape; connections whose bytes were discarded are reset. */
  heal(): void {
    this.blackholed = false;
    this.linkShape = NO_SHAPE;
    for (const connection of this.connections) {
      if (connection.tainted) this.destroy(connection);
    }
  }

  /** RST every connection on the link now (toxiproxy reset_peer). */
  reset(): void {
    for (const connection of this.connections) this.destroy(connection);
  }

  async close(): Promise<void> {
    this.reset();
    const server = this.server;
    this.server = null;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.stats.connectionsAccepted++;
    client.setNoDelay(true);
    const connection: Connection = {
      client,
      upstream: null,
      tainted: false,
      forwardDueMs: 0,
      delayedBytes: 0,
    };
    this.connections.add(connection);
    client.on("error", () => this.destroy(connection));
    client.on("close", () => this.destroy(connection));
    client.on("data", (chunk: Buffer) => this.forward(connection, chunk));
    if (this.blackholed) {
      // Like a dropped SYN: the caller sees a connection that never answers.
      connection.tainted = true;
      return;
    }
    this.dial(connection);
  }

  private dial(connection: Connection): void {
    const upstream = connect({ host: this.options.targetHost, port: this.options.targetPort });
    upstream.setNoDelay(true);
    connection.upstream = upstream;
    upstream.on("error", () => this.destroy(connection));
    upstream.on("close", () => this.destroy(connection));
    upstream.on("data", (chunk: Buffer) => this.backward(connection, chunk));
  }

  /** src → dst: subject to cut, loss and delay. */
  private forward(connection: Connection, chunk: Buffer): void {
    const upstream = connection.upstream;
    if (this.blackholed || upstream === null) {
      connection.tainted = true;
      this.stats.bytesDiscarded += chunk.length;
      return;
    }
    const shape = this.linkShape;
    if (shape.lossPct > 0 && this.random() * 100 < shape.lossPct) {
      this.stats.chunksLost++;
      this.stats.bytesDiscarded += chunk.length;
      this.destroy(connection);
      return;
    }
    if (shape.delayMs === 0 && shape.jitterMs === 0 && connection.delayedBytes === 0) {
      this.stats.bytesForwarded += chunk.length;
      upstream.write(chunk);
      return;
    }
    const jitter = (this.random() * 2 - 1) * shape.jitterMs;
    const dueMs = Math.max(
      connection.forwardDueMs,
      Date.now() + Math.max(0, shape.delayMs + jitter),
    );
    connection.forwardDueMs = dueMs;
    connection.delayedBytes += chunk.length;
    if (connection.delayedBytes > DELAYED_BYTES_MAX) connection.client.pause();
    setTimeout(() => {
      connection.delayedBytes -= chunk.length;
      if (connection.delayedBytes <= DELAYED_BYTES_MAX) connection.client.resume();
      if (!this.connections.has(connection)) return;
      if (this.blackholed) {
        connection.tainted = true;
        this.stats.bytesDiscarded += chunk.length;
        return;
      }
      this.stats.bytesForwarded += chunk.length;
      upstream.write(chunk);
    }, dueMs - Date.now()).unref();
  }

  /** dst → src on src's connection (transport acks): only a cut stops it. */
  private backward(connection: Connection, chunk: Buffer): void {
    if (this.blackholed) {
      connection.tainted = true;
      this.stats.bytesDiscarded += chunk.length;
      return;
    }
    this.stats.bytesForwarded += chunk.length;
    connection.client.write(chunk);
  }

  private destroy(connection: Connection): void {
    if (!this.connections.delete(connection)) return;
    this.stats.connectionsClosed++;
    for (const socket of [connection.client, connection.upstream]) {
      if (socket === null || socket.destroyed) continue;
      try {
        socket.resetAndDestroy();
      } catch {
        socket.destroy();
      }
    }
  }
}
