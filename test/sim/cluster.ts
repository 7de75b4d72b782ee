// A simulated cluster of RawNodes. Each node's MemoryStorage is its disk; its
// loop is ready() -> send early -> persist -> send -> apply -> advance, and a
// crash can hit between any two steps, losing everything that was not persisted.

import { type ConfChange, ConfChangeError } from "../../src/raft/conf-change.js";
import {
  type ConfState,
  type Entry,
  MemoryStorage,
  type Message,
  type NodeId,
  type RaftStatus,
  RawNode,
  type Ready,
} from "../../src/raft/index.js";
import { type NodeView, SafetyChecker } from "./checkers.js";
import { type NetworkProfile, SimNetwork } from "./network.js";
import { SeededRand } from "./rand.js";

export type CrashPoint =
  | "before-persist"
  /**
   * The leader's early messages (MsgApp of this Ready's entries) are out and
   * the world moved on (slow disk), but the write never lands.
   */
  | "after-early-send"
  | "after-persist"
  | "after-send"
  | "after-apply";

export const UNITS_PER_TICK = 10;

export interface ClusterOptions {
  readonly size: number;
  readonly seed: number;
  readonly profile: NetworkProfile;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly maxInflightMessages?: number;
  readonly maxBytesPerMessage?: number;
  /** Nodes outside the initial configuration, ids size+1.., for membership changes. */
  readonly spares?: number;
  /** A node snapshots after this many newly applied entries (0: never compacts). */
  readonly snapshotEvery?: number;
  /** Entries kept below a snapshot point for slow followers. */
  readonly keepEntries?: number;
  /** Receives a line per notable event; off by default because it is slow. */
  readonly trace?: (line: string) => void;
}

/** Thrown by the cluster when a liveness or client-visible guarantee fails. */
export class SimulationFailure extends Error {
  override readonly name = "SimulationFailure";
}

export class SimNode {
  raw: RawNode | null = null;
  incarnation = 0;
  /** The state machine: applied entries in index order. Lost on crash. */
  applied: Entry[] = [];
  armedCrash: CrashPoint | null = null;
  /** Ticks to stay down after the armed crash fires (0: until an explicit restart). */
  armedDowntimeTicks = 0;
  /** Tick at which a crashed node restarts by itself (0: never). */
  restartAtTick = 0;
  /**
   * Network steps while the node's next Ready's write is in flight (between
   * ready() and advance()), as an asynchronous shell sees them: alternately a
   * message to the node is stepped into it, and one it sent (such as an
   * early MsgApp) reaches its peer, which may answer before the write ends.
   */
  slowDiskSteps = 0;
  /** Reads asked on this node: context -> the lowest index a correct answer may have. */
  readonly pendingReads = new Map<string, number>();
  /** The configuration as of the last applied entry. Lost on crash like the rest of the state. */
  confState: ConfState = { voters: [], learners: [] };

  constructor(
    readonly id: NodeId,
    readonly storage: MemoryStorage,
    readonly rand: SeededRand,
  ) {}

  get up(): boolean {
    return this.raw !== null;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class SimCluster {
  readonly nodes: SimNode[] = [];
  readonly ids: NodeId[];
  readonly network: SimNetwork;
  readonly checker = new SafetyChecker();
  now = 0;
  ticks = 0;
  private proposalCount = 0;
  private readCount = 0;
  /** Payload -> proposing node, for every proposal the core accepted. */
  readonly proposer = new Map<string, NodeId>();
  /** Payload -> log index, for proposals applied on their proposing node (client got OK). */
  readonly acked = new Map<string, number>();
  /**
   * Proposals whose proposer gave up on them unanswered, as the server does
   * (RaftNode fails its waiters when it installs a snapshot or goes down): a
   * copy applied later (a duplicated MsgProp appends one) answers no one.
   */
  private readonly abandoned = new Set<string>();
  private maxAckedIndex = 0;
  readsAnswered = 0;
  readonly stats = { snapshotsInstalled: 0, confChangesApplied: 0 };

  constructor(private readonly options: ClusterOptions) {
    const voters = Array.from({ length: options.size }, (_, k) => k + 1);
    this.ids = Array.from({ length: options.size + (options.spares ?? 0) }, (_, k) => k + 1);
    this.network = new SimNetwork(new SeededRand(options.seed), options.profile);
    this.network.onLost = (sender, m) => this.onLost(sender, m);
    for (const id of this.ids) {
      // As etcd bootstraps: the initial configuration is the log's first
      // entries, committed from the start, so a member that joins later and
      // replays the log from index 1 learns it. Spares start knowing nobody.
      const storage = new MemoryStorage();
      if (voters.includes(id)) {
        storage.append(
          voters.map((voter, k) => ({
            index: k + 1,
            term: 1,
            kind: "conf-change" as const,
            data: encodeConfChange({ type: "add-voter", nodeId: voter }),
          })),
        );
        storage.setHardState({ term: 1, vote: 0, commit: voters.length });
      }
      const node = new SimNode(id, storage, new SeededRand(options.seed * 7919 + id));
      this.nodes.push(node);
      this.start(node);
    }
  }

  node(id: NodeId): SimNode {
    const node = this.nodes[id - 1];
    if (node === undefined) {
      throw new Error(`no node ${id}`);
    }
    return node;
  }

  private trace(line: string): void {
    this.options.trace?.(`[t=${this.now}] ${line}`);
  }

  private start(node: SimNode): void {
    node.incarnation += 1;
    // The state machine restarts from the durable snapshot and replays the log after it.
    const snapshot = node.storage.snapshot();
    node.applied = decodeSnapshotData(snapshot.data);
    node.confState = snapshot.meta.confState;
    node.storage.setConfState(snapshot.meta.confState);
    node.pendingReads.clear();
    node.armedCrash = null;
    node.raw = new RawNode({
      id: node.id,
      electionTicks: this.options.electionTicks,
      heartbeatTicks: this.options.heartbeatTicks,
      storage: node.storage,
      applied: snapshot.meta.index,
      maxBytesPerMessage: this.options.maxBytesPerMessage ?? 64,
      maxInflightMessages: this.options.maxInflightMessages ?? 4,
      preVote: true,
      checkQuorum: true,
      rand: node.rand,
      logger: {
        event: (name, fields) => this.trace(`n${node.id} ${name} ${JSON.stringify(fields)}`),
      },
    });
  }

  /** Crashes the node now; it restarts by itself after `downtimeTicks` (0: stays down). */
  crash(id: NodeId, downtimeTicks = 0): void {
    const node = this.node(id);
    if (node.raw === null) {
      return;
    }
    this.trace(`n${id} CRASH (down for ${downtimeTicks || "ever"} ticks)`);
    this.abandonPending(id);
    node.raw = null;
    node.applied = [];
    node.pendingReads.clear();
    node.armedCrash = null;
    node.restartAtTick = downtimeTicks > 0 ? this.ticks + downtimeTicks : 0;
  }

  private abandonPending(id: NodeId): void {
    for (const [payload, proposer] of this.proposer) {
      if (proposer === id && !this.acked.has(payload)) this.abandoned.add(payload);
    }
  }

  /** The node will crash at `point` while handling its next Ready. */
  armCrash(id: NodeId, point: CrashPoint, downtimeTicks = 0): void {
    const node = this.node(id);
    if (node.up) {
      node.armedCrash = point;
      node.armedDowntimeTicks = downtimeTicks;
    }
  }

  restart(id: NodeId): void {
    const node = this.node(id);
    if (node.up) {
      return;
    }
    this.trace(`n${id} RESTART`);
    node.restartAtTick = 0;
    this.start(node);
    this.drive(node);
  }

  // ---- the node loop ---------------------------------------------------------

  /** Runs the node's Ready loop until it has nothing to do (or crashes). */
  drive(node: SimNode): void {
    for (let rounds = 0; node.raw?.hasReady() === true; rounds++) {
      if (rounds > 1_000) {
        throw new SimulationFailure(`node ${node.id} never quiesces`);
      }
      this.handleReady(node, node.raw);
    }
    this.check();
  }

  private crashesAt(node: SimNode, point: CrashPoint): boolean {
    if (node.armedCrash !== point) {
      return false;
    }
    this.trace(`n${node.id} crash armed at ${point} fires`);
    this.crash(node.id, node.armedDowntimeTicks);
    return true;
  }

  private handleReady(node: SimNode, raw: RawNode): void {
    const rd = raw.ready();
    if (this.crashesAt(node, "before-persist")) {
      return;
    }
    // A leader's replication traffic leaves before its own write (thesis §10.2.1).
    this.sendAll(node, rd.earlyMessages);
    if (rd.entries.length > 0 || rd.snapshot !== null) {
      // Only writes of entries are interesting: what arrives meanwhile may
      // truncate them, and acknowledgements of early MsgApps may commit them.
      this.stepWhileWriting(node, raw);
    }
    if (this.crashesAt(node, "after-early-send")) {
      // The write never lands, but its entries may already be on (and committed by) the followers.
      return;
    }
    if (rd.snapshot !== null) {
      node.storage.applySnapshot(rd.snapshot);
      node.applied = decodeSnapshotData(rd.snapshot.data);
      node.confState = rd.snapshot.meta.confState;
      this.stats.snapshotsInstalled += 1;
      this.trace(`n${node.id} installed snapshot at ${rd.snapshot.meta.index}`);
      this.abandonPending(node.id);
    }
    node.storage.append(rd.entries);
    if (rd.hardState !== null) {
      node.storage.setHardState(rd.hardState);
    }
    if (this.crashesAt(node, "after-persist")) {
      return;
    }
    this.sendAll(node, rd.messages);
    if (this.crashesAt(node, "after-send")) {
      return;
    }
    this.apply(node, raw, rd);
    if (this.crashesAt(node, "after-apply")) {
      return;
    }
    this.maybeSnapshot(node);
    raw.advance(rd);
  }

  private sendAll(node: SimNode, messages: readonly Message[]): void {
    for (const m of messages) {
      this.network.send(
        node.id,
        m.type === "MsgSnap" ? this.withCurrentState(node, m) : m,
        this.now,
      );
    }
  }

  /** Records a snapshot of the applied state and compacts the log below it, keeping a tail. */
  private maybeSnapshot(node: SimNode): void {
    const every = this.options.snapshotEvery ?? 0;
    const snapshotIndex = node.storage.snapshot().meta.index;
    const appliedIndex = node.applied.length;
    if (every === 0 || appliedIndex - snapshotIndex < every) {
      return;
    }
    node.storage.createSnapshot(appliedIndex, node.confState, encodeSnapshotData(node.applied));
    const compactTo = appliedIndex - (this.options.keepEntries ?? 0);
    if (compactTo > node.storage.firstIndex()) {
      node.storage.compact(compactTo);
    }
    this.trace(`n${node.id} snapshot at ${appliedIndex}, log from ${node.storage.firstIndex()}`);
  }

  /**
   * As cairn's shell (and etcd's) does, a snapshot goes out as the leader's
   * current applied state, not the older stored snapshot point: that one may
   * predate the configuration that added the recipient.
   */
  private withCurrentState(node: SimNode, m: Message): Message {
    const last = node.applied[node.applied.length - 1];
    if (m.snapshot === null || last === undefined || last.index <= m.snapshot.meta.index) {
      return m;
    }
    const meta = { index: last.index, term: last.term, confState: node.confState };
    return { ...m, snapshot: { meta, data: encodeSnapshotData(node.applied) } };
  }

  /** The shell's duty: tell the leader whether a snapshot it sent arrived. */
  private onLost(sender: NodeId, m: Message): void {
    if (m.type === "MsgSnap") {
      const leader = this.nodes[sender - 1];
      leader?.raw?.reportSnapshot(m.to, false);
    }
  }

  /**
   * The world moves on while the node's write is "in flight": messages to it
   * are stepped into it, and messages it sent reach their peers (see slowDiskSteps).
   */
  private stepWhileWriting(node: SimNode, raw: RawNode): void {
    for (let step = 0; node.slowDiskSteps > 0; node.slowDiskSteps--, step++) {
      const outbound = step % 2 === 1;
      const taken = outbound
        ? (this.network.takeFirstFrom(node.id) ?? this.network.takeFirstTo(node.id))
        : (this.network.takeFirstTo(node.id) ?? this.network.takeFirstFrom(node.id));
      if (taken === undefined) {
        node.slowDiskSteps = 0;
        return;
      }
      if (taken.message.to !== node.id) {
        // The peer handles it fully (its own Ready loop); an answer to us stays
        // in flight until a later step or tick delivers it.
        this.trace(`n${taken.message.to} gets ${taken.message.type} from ${node.id} mid-write`);
        this.deliver(taken.message, taken.sender);
        continue;
      }
      if (this.network.canDeliver(taken.sender, node.id)) {
        this.trace(`n${node.id} steps ${taken.message.type} from ${taken.sender} mid-write`);
        this.network.stats.delivered += 1;
        raw.step(taken.message);
        if (taken.message.type === "MsgSnap") {
          this.nodes[taken.sender - 1]?.raw?.reportSnapshot(node.id, true);
        }
      } else {
        this.onLost(taken.sender, taken.message);
      }
    }
  }

  /** The node's next write is slow: `count` messages reach it before it completes. */
  slowDisk(id: NodeId, count: number): void {
    this.node(id).slowDiskSteps = count;
  }

  private apply(node: SimNode, raw: RawNode, rd: Ready): void {
    for (const entry of rd.committedEntries) {
      if (entry.index !== node.applied.length + 1) {
        throw new SimulationFailure(
          `node ${node.id} applied ${entry.index} after ${node.applied.length}: gap or repeat`,
        );
      }
      node.applied.push(entry);
      if (entry.kind === "conf-change") {
        this.applyConfChange(node, raw, entry);
        continue;
      }
      const payload = decoder.decode(entry.data);
      if (
        payload !== "" &&
        this.proposer.get(payload) === node.id &&
        !this.acked.has(payload) &&
        !this.abandoned.has(payload)
      ) {
        this.acked.set(payload, entry.index);
        this.maxAckedIndex = Math.max(this.maxAckedIndex, entry.index);
      }
    }
    for (const rs of rd.readStates) {
      const key = decoder.decode(rs.requestContext);
      const minIndex = node.pendingReads.get(key);
      if (minIndex === undefined) {
        continue;
      }
      node.pendingReads.delete(key);
      this.readsAnswered += 1;
      if (rs.index < minIndex) {
        throw new SimulationFailure(
          `stale read on node ${node.id}: read index ${rs.index} but a write at ${minIndex} ` +
            "was acknowledged before the read was requested",
        );
      }
    }
  }

  private applyConfChange(node: SimNode, raw: RawNode, entry: Entry): void {
    const change = decodeConfChange(entry.data);
    try {
      node.confState = raw.applyConfChange(change);
    } catch (error) {
      if (error instanceof ConfChangeError) {
        throw new SimulationFailure(`node ${node.id} applied an invalid change: ${error.message}`);
      }
      throw error;
    }
    this.stats.confChangesApplied += 1;
    this.trace(`n${node.id} applied ${change.type} ${change.nodeId} at ${entry.index}`);
  }

  // ---- inputs ------------------------------------------------------------------

  deliver(m: Message, sender: NodeId): void {
    const target = this.nodes[m.to - 1];
    if (target?.raw == null || !this.network.canDeliver(sender, m.to)) {
      this.onLost(sender, m);
      return;
    }
    this.network.stats.delivered += 1;
    if (this.options.trace) {
      this.trace(`n${m.to} <- ${describeMessage(m)}`);
    }
    target.raw.step(m);
    if (m.type === "MsgSnap") {
      // The stream finished: the sender's shell reports success.
      this.nodes[sender - 1]?.raw?.reportSnapshot(m.to, true);
    }
    this.drive(target);
  }

  /** One tick: deliver every message due during it, then tick every live node. */
  tick(): void {
    for (let unit = 0; unit < UNITS_PER_TICK; unit++) {
      this.now += 1;
      for (let due = this.network.popDue(this.now); due; due = this.network.popDue(this.now)) {
        this.deliver(due.message, due.sender);
      }
    }
    this.ticks += 1;
    for (const node of this.nodes) {
      if (node.raw !== null) {
        node.raw.tick();
        this.drive(node);
      } else if (node.restartAtTick !== 0 && node.restartAtTick <= this.ticks) {
        this.restart(node.id);
      }
    }
  }

  /** Delivers one in-flight message right now, ahead of its turn. */
  deliverEarly(pick: number): void {
    const taken = this.network.takeAt(pick);
    if (taken !== undefined) {
      this.deliver(taken.message, taken.sender);
    }
  }

  propose(id: NodeId): string | undefined {
    const node = this.node(id);
    if (node.raw === null) {
      return undefined;
    }
    this.proposalCount += 1;
    const payload = `p${this.proposalCount}`;
    const result = node.raw.propose(encoder.encode(payload));
    if (result.ok) {
      this.proposer.set(payload, id);
    }
    this.drive(node);
    return result.ok ? payload : undefined;
  }

  /** Proposes `count` payloads in one batch; returns them if the core took them. */
  proposeBatch(id: NodeId, count: number): string[] {
    const node = this.node(id);
    if (node.raw === null) {
      return [];
    }
    const payloads: string[] = [];
    for (let k = 0; k < count; k++) {
      this.proposalCount += 1;
      payloads.push(`p${this.proposalCount}`);
    }
    const result = node.raw.proposeBatch(payloads.map((p) => encoder.encode(p)));
    if (result.ok) {
      for (const payload of payloads) this.proposer.set(payload, id);
    }
    this.drive(node);
    return result.ok ? payloads : [];
  }

  read(id: NodeId): void {
    const node = this.node(id);
    if (node.raw === null) {
      return;
    }
    this.readCount += 1;
    const context = `r${this.readCount}`;
    if (node.raw.readIndex(encoder.encode(context)).ok) {
      node.pendingReads.set(context, this.maxAckedIndex);
    }
    this.drive(node);
  }

  /**
   * Asks the leader for a membership change, checked against its applied
   * configuration first as the server does. Returns true if it was proposed.
   */
  changeMembership(change: ConfChange): boolean {
    const leader = this.leader();
    if (leader?.raw == null) {
      return false;
    }
    const { voters, learners } = leader.confState;
    const isVoter = voters.includes(change.nodeId);
    const isLearner = learners.includes(change.nodeId);
    const valid =
      (change.type === "add-learner" && !isVoter && !isLearner) ||
      (change.type === "add-voter" && !isVoter) ||
      (change.type === "remove" && (isLearner || (isVoter && voters.length > 1)));
    if (!valid) {
      return false;
    }
    const ok = leader.raw.proposeConfChange(encodeConfChange(change)).ok;
    this.trace(`n${leader.id} proposes ${change.type} ${change.nodeId}: ${ok ? "ok" : "refused"}`);
    this.drive(leader);
    return ok;
  }

  campaign(id: NodeId): void {
    const node = this.node(id);
    node.raw?.campaign();
    this.drive(node);
  }

  transferLeadership(target: NodeId): void {
    const leader = this.leader();
    if (leader?.raw) {
      leader.raw.transferLeader(target);
      this.drive(leader);
    }
  }

  /** Asks node `via`, whatever its role, to move leadership to `target`. */
  transferLeadershipVia(via: NodeId, target: NodeId): void {
    const node = this.node(via);
    node.raw?.transferLeader(target);
    this.drive(node);
  }

  // ---- observation -----------------------------------------------------------------

  status(id: NodeId): RaftStatus | undefined {
    return this.node(id).raw?.status();
  }

  /** The live node that believes it leads with the highest (or lowest) term, if any. */
  leader(pick: "highest-term" | "lowest-term" = "highest-term"): SimNode | undefined {
    let best: SimNode | undefined;
    let bestTerm = 0;
    for (const node of this.nodes) {
      const status = node.raw?.status();
      if (status?.role !== "leader") {
        continue;
      }
      const better = pick === "highest-term" ? status.term > bestTerm : status.term < bestTerm;
      if (best === undefined || better) {
        best = node;
        bestTerm = status.term;
      }
    }
    return best;
  }

  views(): NodeView[] {
    return this.nodes.map((node) => {
      const storage = node.storage;
      const hardState = storage.initialState().hardState;
      const status = node.raw?.status();
      // The compacted prefix lives on in the snapshot, which holds the entries themselves.
      const prefix = decodeSnapshotData(storage.snapshot().data);
      const rest = storage.entries(storage.firstIndex(), storage.lastIndex() + 1, Infinity);
      return {
        id: node.id,
        incarnation: node.incarnation,
        up: node.raw !== null,
        role: status?.role ?? "follower",
        term: status?.term ?? hardState.term,
        commit: hardState.commit,
        log: [...prefix.slice(0, storage.firstIndex() - 1), ...rest],
        applied: node.applied,
        confState: node.confState,
      };
    });
  }

  check(): void {
    this.checker.check(this.views());
  }
}

function describeMessage(m: Message): string {
  const entries = m.entries.map((e) => `${e.index}/t${e.term}`).join(",");
  const flags = [
    m.reject ? `reject hint=${m.rejectHint}` : "",
    entries ? `entries=[${entries}]` : "",
    m.context.byteLength > 0 ? `ctx=${m.context.byteLength}B` : "",
  ].filter((part) => part !== "");
  return `${m.type} from ${m.from} t${m.term} i${m.index}/t${m.logTerm} c${m.commit} ${flags.join(" ")}`;
}

/** The simulated state machine is the list of applied entries, so a snapshot carries them. */
function encodeSnapshotData(applied: readonly Entry[]): Uint8Array {
  const rows = applied.map((e) => [e.index, e.term, e.kind, decoder.decode(e.data)]);
  return encoder.encode(JSON.stringify(rows));
}

function decodeSnapshotData(data: Uint8Array): Entry[] {
  if (data.byteLength === 0) {
    return [];
  }
  const rows = JSON.parse(decoder.decode(data)) as [number, number, Entry["kind"], string][];
  return rows.map(([index, term, kind, text]) => ({
    index,
    term,
    kind,
    data: encoder.encode(text),
  }));
}

export function encodeConfChange(change: ConfChange): Uint8Array {
  return encoder.encode(`cc:${change.type}:${change.nodeId}`);
}

function decodeConfChange(data: Uint8Array): ConfChange {
  const [tag, type, id] = decoder.decode(data).split(":");
  if (tag !== "cc" || (type !== "add-voter" && type !== "add-learner" && type !== "remove")) {
    throw new SimulationFailure(`bad conf change entry ${decoder.decode(data)}`);
  }
  return { type, nodeId: Number(id) };
}
