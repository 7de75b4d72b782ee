// A well-behaved shell around RawNode for unit and paper tests: persist,
// apply and advance every Ready, plus a tiny lossless network with cut links.

import {
  type Entry,
  emptyMessage,
  type HardState,
  MemoryStorage,
  type Message,
  type MessageType,
  type NodeId,
  type RaftStatus,
  type Rand,
  RawNode,
  type ReadState,
  type Ready,
} from "../../src/raft/index.js";
import { fixedRand } from "../sim/rand.js";
import { entriesWithTerms } from "./helpers.js";

export interface NodeOptions {
  readonly voters?: readonly NodeId[];
  /** Terms of the durable log's entries, from index 1. */
  readonly terms?: readonly number[];
  readonly hardState?: HardState;
  readonly applied?: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  /** Default: always 0, so the election timeout is exactly electionTicks. */
  readonly rand?: Rand;
  readonly maxBytesPerMessage?: number;
  readonly maxInflightMessages?: number;
}

export interface RaftEvent {
  readonly name: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

export class TestNode {
  readonly raw: RawNode;
  readonly storage: MemoryStorage;
  readonly applied: Entry[] = [];
  readonly readStates: ReadState[] = [];
  readonly events: RaftEvent[] = [];
  readonly readies: Ready[] = [];

  constructor(
    readonly id: NodeId,
    options: NodeOptions = {},
  ) {
    const voters = options.voters ?? [1, 2, 3];
    this.storage = new MemoryStorage({
      confState: { voters, learners: [] },
      ...(options.hardState ? { hardState: options.hardState } : {}),
    });
    this.storage.append(entriesWithTerms(options.terms ?? []));
    this.raw = new RawNode({
      id,
      electionTicks: options.electionTicks ?? 10,
      heartbeatTicks: options.heartbeatTicks ?? 1,
      storage: this.storage,
      applied: options.applied ?? 0,
      maxBytesPerMessage: options.maxBytesPerMessage ?? 1024 * 1024,
      maxInflightMessages: options.maxInflightMessages ?? 256,
      preVote: options.preVote ?? false,
      checkQuorum: options.checkQuorum ?? false,
      rand: options.rand ?? fixedRand(0),
      logger: { event: (name, fields) => this.events.push({ name, fields }) },
    });
  }

  /** Handles every pending Ready like a correct shell; returns the messages to send. */
  flush(): Message[] {
    const messages: Message[] = [];
    for (let rounds = 0; this.raw.hasReady(); rounds++) {
      if (rounds > 100) {
        throw new Error(`node ${this.id} never runs out of Ready work`);
      }
      const rd = this.raw.ready();
      this.readies.push(rd);
      messages.push(...rd.earlyMessages);
      this.storage.append(rd.entries);
      if (rd.hardState !== null) {
        this.storage.setHardState(rd.hardState);
      }
      messages.push(...rd.messages);
      this.applied.push(...rd.committedEntries);
      this.readStates.push(...rd.readStates);
      this.raw.advance(rd);
    }
    return messages;
  }

  status(): RaftStatus {
    return this.raw.status();
  }

  /** The durable log. */
  log(): Entry[] {
    return this.storage.entries(this.storage.firstIndex(), this.storage.lastIndex() + 1, Infinity);
  }

  eventNames(): string[] {
    return this.events.map((e) => e.name);
  }
}

/** A message as a peer would send it; fields default to zero/empty. */
export function msg(
  type: MessageType,
  from: NodeId,
  to: NodeId,
  term: number,
  fields: Partial<Message> = {},
): Message {
  return { ...emptyMessage(type, from, to, term), ...fields };
}

export function ofType(messages: readonly Message[], type: MessageType): Message[] {
  return messages.filter((m) => m.type === type);
}

/** Lossless in-order network between TestNodes, with links that can be cut. */
export class TestNetwork {
  readonly nodes = new Map<NodeId, TestNode>();
  private readonly cut = new Set<string>();
  /** Every message delivered, for assertions about traffic. */
  readonly delivered: Message[] = [];

  constructor(ids: readonly NodeId[], options: (id: NodeId) => NodeOptions = () => ({})) {
    for (const id of ids) {
      this.nodes.set(id, new TestNode(id, { voters: ids, ...options(id) }));
    }
  }

  node(id: NodeId): TestNode {
    const node = this.nodes.get(id);
    if (node === undefined) {
      throw new Error(`no node ${id}`);
    }
    return node;
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other !== id) {
        this.cut.add(`${id}>${other}`);
        this.cut.add(`${other}>${id}`);
      }
    }
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Flushes every node and delivers messages until the cluster is quiet. */
  stabilize(maxRounds = 200): void {
    for (let round = 0; round < maxRounds; round++) {
      const inFlight: Message[] = [];
      for (const node of this.nodes.values()) {
        inFlight.push(...node.flush());
      }
      if (inFlight.length === 0) {
        return;
      }
      for (const m of inFlight) {
        this.deliver(m);
      }
    }
    throw new Error(`network not quiet after ${maxRounds} rounds`);
  }

  deliver(m: Message): void {
    const target = this.nodes.get(m.to);
    if (target === undefined || this.cut.has(`${m.from}>${m.to}`)) {
      return;
    }
    this.delivered.push(m);
    target.raw.step(m);
  }

  tick(id: NodeId, ticks = 1): void {
    for (let k = 0; k < ticks; k++) {
      this.node(id).raw.tick();
    }
  }

  tickAll(ticks = 1): void {
    for (let k = 0; k < ticks; k++) {
      for (const node of this.nodes.values()) {
        node.raw.tick();
      }
      this.stabilize();
    }
  }

  /** Makes `id` campaign and lets the election finish. */
  elect(id: NodeId): TestNode {
    this.node(id).raw.campaign();
    this.stabilize();
    const status = this.node(id).status();
    if (status.role !== "leader") {
      throw new Error(`node ${id} did not win: ${status.role} at term ${status.term}`);
    }
    return this.node(id);
  }

  leaders(): NodeId[] {
    return [...this.nodes.values()].filter((n) => n.status().role === "leader").map((n) => n.id);
  }
}
