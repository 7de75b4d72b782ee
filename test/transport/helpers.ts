// Shared fixtures for transport tests: real PeerTransports on 127.0.0.1 with
// recording callbacks, message builders and a polling wait.

import { createServer } from "node:net";
import { emptyMessage, type Message, type MessageType, type NodeId } from "../../src/raft/types.js";
import { PeerTransport, type PeerTransportOptions } from "../../src/transport/peer-transport.js";
import type { TransportLogger } from "../../src/transport/transport-logger.js";

export const CLUSTER_ID = 7;

export interface LogRecord {
  readonly level: "info" | "warn";
  readonly obj: Record<string, unknown>;
  readonly msg: string;
}

export interface TestNode {
  readonly id: NodeId;
  readonly transport: PeerTransport;
  readonly port: number;
  readonly address: string;
  /** Every onMessages call, in arrival order. */
  readonly batches: Message[][];
  readonly unreachable: NodeId[];
  readonly logs: LogRecord[];
  received(): Message[];
}

export type NodeOptions = Partial<Omit<PeerTransportOptions, "selfId" | "onMessages" | "logger">>;

function recordingLogger(logs: LogRecord[]): TransportLogger {
  return {
    info: (obj, msg) => logs.push({ level: "info", obj: obj as Record<string, unknown>, msg }),
    warn: (obj, msg) => logs.push({ level: "warn", obj: obj as Record<string, unknown>, msg }),
  };
}

export async function startNode(id: NodeId, options: NodeOptions = {}): Promise<TestNode> {
  const batches: Message[][] = [];
  const unreachable: NodeId[] = [];
  const logs: LogRecord[] = [];
  const transport = new PeerTransport({
    clusterId: CLUSTER_ID,
    listenAddress: "127.0.0.1:0",
    peers: new Map(),
    pingIntervalMs: 100,
    ...options,
    selfId: id,
    onMessages: (messages) => batches.push(messages),
    onUnreachable: (peer) => unreachable.push(peer),
    logger: recordingLogger(logs),
  });
  const { port } = await transport.start();
  return {
    id,
    transport,
    port,
    address: `127.0.0.1:${port}`,
    batches,
    unreachable,
    logs,
    received: () => batches.flat(),
  };
}

/** Starts nodes on free ports, then tells each about all the others. */
export async function startCluster(
  ids: readonly NodeId[],
  options: NodeOptions = {},
): Promise<TestNode[]> {
  const nodes = await Promise.all(ids.map((id) => startNode(id, options)));
  for (const node of nodes) {
    for (const other of nodes) {
      if (other.id !== node.id) node.transport.addPeer(other.id, other.address);
    }
  }
  return nodes;
}

export async function stopAll(nodes: readonly TestNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.transport.stop()));
}

/** A port that was free a moment ago, for a peer that is not listening (yet). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

export async function waitFor(
  condition: () => boolean,
  what: string,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function message(
  type: MessageType,
  from: NodeId,
  to: NodeId,
  fields: Partial<Omit<Message, "type" | "from" | "to">> = {},
): Message {
  return { ...emptyMessage(type, from, to, 1), ...fields };
}

/** A heartbeat whose commit field tags it, so tests can check which ones arrived. */
export function tagged(from: NodeId, to: NodeId, tag: number): Message {
  return message("MsgHeartbeat", from, to, { commit: tag });
}

export function tags(messages: readonly Message[]): number[] {
  return messages.map((m) => m.commit);
}
