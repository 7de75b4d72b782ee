// One cairn member's Raft loop: the thin shell around the pure core.
// Rules of the loop (etcd-io/raft's contract, see src/raft/types.ts Ready):
//  1. Work that arrives while a Ready is being handled (peer messages,
//     proposals, ticks, read barriers) is queued in the inbox and stepped in
//     one go before the next ready(): that is the group commit.
//  2. Entries + hard state of a Ready are written in ONE synced LevelDB batch
//     before any of its messages leave.
//  3. Committed entries are applied in one unsynced batch that also records
//     the applied index, so a crash replays from there.
//  4. Waiters resolve after apply; then advance().
import { randomInt } from "node:crypto";
import { MemoryStorage, RawNode } from "../raft/index.js";
import type { Entry, Message, NodeId, Ready, SoftState } from "../raft/types.js";
import { type Command, decodeCommand, encodeCommand } from "../state/command.js";
import type { WatchEvent } from "../state/mvcc/key-value.js";
import type { PlatformEvent } from "../state/platform/results.js";
import { type ApplyResult, StateMachine } from "../state/state-machine.js";
import type { TableWrite } from "../state/table-write.js";
import { DiskStore, type DiskWriteFaults, type StateExportRecord } from "../storage/index.js";
import { PeerTransport } from "../transport/index.js";
import { assert } from "../util/assert.js";
import { proposalRefusal } from "./admission.js";
import { DiskPause, LoopStoppedError } from "./disk-pause.js";
import { CairnError } from "./errors.js";
import type { Logger } from "./logger.js";
import type { NodeMetrics } from "./metrics.js";
import { ProposalWaiters } from "./proposals.js";
import { ReadIndexBatcher } from "./read-index.js";

export interface RaftNodeOptions {
  readonly name: string;
  readonly id: NodeId;
  readonly clusterId: number;
  readonly dataDir: string;
  readonly listenPeer: string;
  /** Every voter, this node included: id → name and peer address. */
  readonly members: ReadonlyMap<NodeId, { name: string; peerAddress: string }>;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly requestTimeoutMs: number;
  readonly maxRequestBytes: number;
  /** etcd --max-txn-ops; part of the replicated logic, so every member must agree. */
  readonly maxTxnOps: number;
  readonly logger: Logger;
  readonly metrics: NodeMetrics;
  /** Test-only: makes storage writes fail (e.g. as if the disk were full). */
  readonly diskFaults?: DiskWriteFaults;
}

/** Bounds on the node's queues: past them, work is refused, never buffered without end. */
const PROPOSALS_PENDING_MAX = 20_000;
const READS_WAITING_MAX = 50_000;
const INBOX_MESSAGES_MAX = 100_000;
/**
 * Entry bytes the inbox holds between two turns of the loop (a turn can wait
 * on a slow fsync or a full disk). Raft's inflight window mostly bounds what
 * peers send, but a count alone would allow 100 000 messages of 1 MiB each.
 */
const INBOX_MESSAGE_BYTES_MAX = 256 * 1024 * 1024;
const INBOX_PROPOSAL_BYTES_MAX = 256 * 1024 * 1024;
/** Counted per message on top of its entries' data, so empty messages are bounded too. */
const MESSAGE_OVERHEAD_BYTES = 64;
const READ_INDEX_RETRY_MS = 500;
const SLOW_FSYNC_MS = 100;

type LocalCommand = Command extends infer C
  ? C extends Command
    ? Omit<C, "id" | "at" | "v">
    : never
  : never;

/** Told of every applied change, in revision order, before the proposer's reply. */
export type AppliedListener = (events: readonly WatchEvent[], revision: number) => void;
/** Told of every applied change of the platform tables (Applied.platform), in order, like AppliedListener. */
export type PlatformAppliedListener = (events: readonly PlatformEvent[], revision: number) => void;
/** Told when this member's view of the leader or its own role changes. */
export type LeadershipListener = (state: SoftState) => void;

export class RaftNode {
  readonly stateMachine: StateMachine;
  private readonly appliedListeners: AppliedListener[] = [];
  private readonly platformListeners: PlatformAppliedListener[] = [];
  private readonly leadershipListeners: LeadershipListener[] = [];
  private readonly waiters: ProposalWaiters;
  private readonly reads: ReadIndexBatcher;
  private inboxMessages: Message[] = [];
  private inboxProposals: Uint8Array[] = [];
  private inboxProposalIds: number[] = [];
  private inboxMessageBytes = 0;
  private inboxProposalBytes = 0;
  private inboxTicks = 0;
  private loopScheduled = false;
  private loopRunning = false;
  private stopped = false;
  private ticker: NodeJS.Timeout | null = null;
  private softState: SoftState = { leader: 0, role: "follower" };
  private readonly diskPause: DiskPause;
  /** Set by the free-space guard (DiskSpaceGuard): writes are refused before the disk fills. */
  private diskSpaceProblem: string | null = null;
  private appliedIndexValue: number;
  /** The core's commit index as of the last Ready, for the apply-backlog check. */
  private commitIndexValue = 0;

  private constructor(
    private readonly options: RaftNodeOptions,
    private readonly disk: DiskStore,
    private readonly memory: MemoryStorage,
    private readonly raw: RawNode,
    readonly transport: PeerTransport,
    appliedIndex: number,
  ) {
    this.appliedIndexValue = appliedIndex;
    this.stateMachine = new StateMachine({ maxTxnOps: options.maxTxnOps });
    const metrics = options.metrics;
    this.waiters = new ProposalWaiters(
      PROPOSALS_PENDING_MAX,
      options.requestTimeoutMs,
      (reason) => metrics.proposalsFailed.inc({ reason }),
      Date.now(),
    );
    this.diskPause = new DiskPause(disk, options.logger, {
      isStopped: () => this.stopped,
      onPause: () => metrics.diskWritesPaused.set(1),
      onResume: () => {
        metrics.diskWritesPaused.set(0);
        // The paused loop read nothing; ticks of the pause would time out peers
        // whose messages are waiting, unread, in the inbox.
        this.inboxTicks = 0;
      },
    });
    this.reads = new ReadIndexBatcher(
      { issue: (context) => this.raw.readIndex(context).ok },
      options.requestTimeoutMs,
      READ_INDEX_RETRY_MS,
      READS_WAITING_MAX,
    );
  }

  static async start(options: RaftNodeOptions): Promise<RaftNode> {
    const log = options.logger;
    const disk = await DiskStore.open(options.dataDir, {
      onSync: (durationMs: number, entries: number, bytes: number) => {
        options.metrics.walFsyncSeconds.observe(durationMs / 1000);
        if (durationMs > SLOW_FSYNC_MS) {
          log.warn({ durationMs, entries, bytes }, "slow fsync of the raft log");
        }
      },
      ...(options.diskFaults === undefined ? {} : { faults: options.diskFaults }),
    });
    const loaded = await disk.load();
    const memory = new MemoryStorage();
    let confState = loaded.confState;
    if (confState === null) {
      confState = { voters: [...options.members.keys()].sort((a, b) => a - b), learners: [] };
      await disk.setConfState(confState);
      log.info({ voters: confState.voters.length }, "bootstrapped a new member");
    }
    memory.setConfState(confState);
    memory.setHardState(loaded.hardState);
    if (loaded.entries.length > 0) {
      memory.append(loaded.entries);
    }
    const node = await RaftNode.assemble(options, disk, memory, loaded.appliedIndex);
    log.info(
      {
        term: loaded.hardState.term,
        commit: loaded.hardState.commit,
        applied: loaded.appliedIndex,
      },
      "member started",
    );
    return node;
  }

  private static async assemble(
    options: RaftNodeOptions,
    disk: DiskStore,
    memory: MemoryStorage,
    appliedIndex: number,
  ): Promise<RaftNode> {
    const raw = new RawNode({
      id: options.id,
      electionTicks: options.electionTicks,
      heartbeatTicks: options.heartbeatTicks,
      storage: memory,
      applied: appliedIndex,
      maxBytesPerMessage: 1024 * 1024,
      maxInflightMessages: 256,
      preVote: true,
      checkQuorum: true,
      rand: { nextInt: (maxExclusive: number) => randomInt(maxExclusive) },
      logger: {
        event: (name: string, fields: Readonly<Record<string, unknown>>) =>
          options.logger.info(fields, `raft ${name}`),
      },
    });
    const peers = new Map<NodeId, string>();
    for (const [id, member] of options.members) {
      if (id !== options.id) peers.set(id, member.peerAddress);
    }
    let node: RaftNode | null = null;
    const transport = new PeerTransport({
      selfId: options.id,
      clusterId: options.clusterId,
      listenAddress: options.listenPeer,
      peers,
      onMessages: (messages: Message[]) => node?.receive(messages),
      logger: options.logger,
      onUnreachable: (peer: NodeId) => node?.raw.reportUnreachable(peer),
    });
    node = new RaftNode(options, disk, memory, raw, transport, appliedIndex);
    for (const table of StateMachine.tables) {
      for await (const [key, value] of disk.iterateTable(table)) {
        node.stateMachine.loadRow(table, key, value);
      }
    }
    await transport.start();
    node.ticker = setInterval(() => node?.onTick(), options.tickMs);
    return node;
  }

  get appliedIndex(): number {
    return this.appliedIndexValue;
  }

  get id(): NodeId {
    return this.options.id;
  }

  get lastLogIndex(): number {
    return this.memory.lastIndex();
  }

  get leaderId(): NodeId {
    return this.softState.leader;
  }

  get role(): SoftState["role"] {
    return this.softState.role;
  }

  status(): ReturnType<RawNode["status"]> {
    return this.raw.status();
  }

  /** Size of this member's data directory (LevelDB files), for Status and the quota. */
  dbSizeBytes(): Promise<number> {
    return this.disk.approximateSizeBytes();
  }

  /** A consistent copy of the applied state (see DiskStore.exportState). */
  exportState(): AsyncGenerator<StateExportRecord, void, undefined> {
    return this.disk.exportState(StateMachine.tables);
  }

  defragment(): Promise<{ beforeBytes: number; afterBytes: number }> {
    return this.disk.defragment();
  }

  onApplied(listener: AppliedListener): void {
    this.appliedListeners.push(listener);
  }

  onPlatformApplied(listener: PlatformAppliedListener): void {
    this.platformListeners.push(listener);
  }

  onLeadership(listener: LeadershipListener): void {
    this.leadershipListeners.push(listener);
  }

  get isLeader(): boolean {
    return this.softState.role === "leader";
  }

  /** Proposes a command and resolves with its apply result on this member. */
  propose(command: LocalCommand): Promise<ApplyResult> {
    if (this.stopped) {
      return Promise.reject(new CairnError("STOPPED"));
    }
    const refusal = proposalRefusal({
      kind: command.kind,
      commitIndex: this.commitIndexValue,
      appliedIndex: this.appliedIndexValue,
      diskPaused: this.diskPause.problem,
      diskLow: this.diskSpaceProblem,
    });
    if (refusal !== null) {
      this.options.metrics.proposalsFailed.inc({
        reason: refusal.code.toLowerCase().replaceAll("_", "-"),
      });
      return Promise.reject(refusal);
    }
    const { id, result } = this.waiters.register();
    const data = encodeCommand({
      ...command,
      v: 1,
      id,
      from: this.options.id,
      at: Date.now(),
    } as Command);
    if (data.byteLength > this.options.maxRequestBytes) {
      this.waiters.fail(id, new CairnError("REQUEST_TOO_LARGE"), "too-large");
      return result;
    }
    if (this.inboxProposalBytes + data.byteLength > INBOX_PROPOSAL_BYTES_MAX) {
      this.waiters.fail(id, new CairnError("TOO_MANY_REQUESTS"), "too-many-requests");
      return result;
    }
    this.inboxProposalBytes += data.byteLength;
    this.inboxProposals.push(data);
    this.inboxProposalIds.push(id);
    this.options.metrics.proposalsPending.set(this.waiters.pending);
    this.schedule();
    return result;
  }

  /** Why this member refuses writes now (full disk, or free space below the reserve), or null. */
  get diskProblem(): string | null {
    return this.diskPause.problem ?? this.diskSpaceProblem;
  }

  /** The free-space guard's verdict; null when there is room. */
  setDiskSpaceProblem(problem: string | null): void {
    this.diskSpaceProblem = problem;
  }

  /** Resolves once a read made now is linearizable against local state. */
  linearizableBarrier(): Promise<void> {
    if (this.stopped) {
      return Promise.reject(new CairnError("STOPPED"));
    }
    const paused = this.diskPause.problem;
    if (paused !== null) {
      // The loop waits for the disk: a barrier could not complete before it resumes.
      return Promise.reject(
        new CairnError(
          "NO_SPACE_ON_DEVICE_READ",
          `etcdserver: ${paused}; this member serves only serializable reads until it can write`,
        ),
      );
    }
    const started = performance.now();
    const barrier = this.reads.barrier(Date.now());
    this.schedule();
    return barrier.then(() => {
      this.options.metrics.readIndexSeconds.observe((performance.now() - started) / 1000);
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.ticker !== null) clearInterval(this.ticker);
    while (this.loopRunning) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    this.waiters.failAll(new CairnError("STOPPED"), "stopped");
    this.reads.failAll(new CairnError("STOPPED"));
    await this.transport.stop();
    await this.disk.close();
  }

  private receive(messages: Message[]): void {
    if (this.stopped) return;
    let bytes = 0;
    for (const message of messages) bytes += messageBytes(message);
    if (
      this.inboxMessages.length + messages.length > INBOX_MESSAGES_MAX ||
      this.inboxMessageBytes + bytes > INBOX_MESSAGE_BYTES_MAX
    ) {
      return; // Raft tolerates message loss; memory does not tolerate an unbounded inbox.
    }
    this.inboxMessageBytes += bytes;
    for (const message of messages) this.inboxMessages.push(message);
    this.schedule();
  }

  private onTick(): void {
    this.inboxTicks++;
    this.schedule();
  }

  private schedule(): void {
    if (this.loopScheduled || this.loopRunning || this.stopped) return;
    this.loopScheduled = true;
    setImmediate(() => {
      this.loopScheduled = false;
      this.runLoop().catch((error: unknown) => {
        if (!(error instanceof LoopStoppedError)) this.fatal(error);
      });
    });
  }

  /** Steps everything queued since the last turn into the core. */
  private drainInbox(): void {
    for (; this.inboxTicks > 0; this.inboxTicks--) this.raw.tick();
    const messages = this.inboxMessages;
    this.inboxMessages = [];
    this.inboxMessageBytes = 0;
    for (const message of messages) this.raw.step(message);
    const proposals = this.inboxProposals;
    const ids = this.inboxProposalIds;
    this.inboxProposals = [];
    this.inboxProposalIds = [];
    this.inboxProposalBytes = 0;
    for (let i = 0; i < proposals.length; i++) {
      const outcome = this.raw.propose(proposals[i] as Uint8Array);
      if (!outcome.ok) {
        this.waiters.fail(ids[i] as number, new CairnError("NO_LEADER"), outcome.reason);
      }
    }
    this.reads.pump(Date.now());
  }

  private async runLoop(): Promise<void> {
    this.loopRunning = true;
    try {
      this.drainInbox();
      while (this.raw.hasReady() && !this.stopped) {
        await this.handleReady(this.raw.ready());
        this.drainInbox();
      }
    } finally {
      this.loopRunning = false;
    }
    if (this.inboxTicks > 0 || this.inboxMessages.length > 0 || this.inboxProposals.length > 0) {
      this.schedule();
    }
  }

  private async handleReady(ready: Ready): Promise<void> {
    if (ready.softState !== null) this.onSoftState(ready.softState);
    if (ready.entries.length > 0 || ready.hardState !== null) {
      await this.diskPause.write("persistRaft", () =>
        this.disk.persistRaft(ready.entries, ready.hardState, { sync: ready.mustSync }),
      );
      if (ready.hardState !== null) this.memory.setHardState(ready.hardState);
      if (ready.entries.length > 0) this.memory.append([...ready.entries]);
    }
    if (ready.messages.length > 0) this.transport.send(ready.messages);
    if (ready.committedEntries.length > 0) await this.apply(ready.committedEntries);
    for (const readState of ready.readStates) {
      this.reads.onReadState(readState.requestContext, readState.index, this.appliedIndexValue);
    }
    this.raw.advance(ready);
    const status = this.raw.status();
    this.commitIndexValue = status.commit;
    this.options.metrics.term.set(status.term);
    this.options.metrics.commitIndex.set(status.commit);
  }

  private async apply(entries: readonly Entry[]): Promise<void> {
    const writes: TableWrite[] = [];
    const results: Array<[number, ApplyResult]> = [];
    const events: WatchEvent[] = [];
    const platform: PlatformEvent[] = [];
    let commandsApplied = 0;
    for (const entry of entries) {
      assert(
        entry.index === this.appliedIndexValue + 1,
        `apply gap: ${entry.index} after ${this.appliedIndexValue}`,
      );
      this.appliedIndexValue = entry.index;
      if (entry.kind !== "normal" || entry.data.byteLength === 0) continue;
      const command = decodeCommand(entry.data);
      const applied = this.stateMachine.apply(command);
      commandsApplied++;
      for (const write of applied.writes) writes.push(write);
      // Request ids are per member: another member's command may carry an id
      // this member also handed out, and must not answer this member's waiter.
      if (command.from === this.options.id) results.push([command.id, applied.result]);
      if (applied.events.length > 0) events.push(...applied.events);
      if (applied.platform !== undefined) platform.push(...applied.platform);
    }
    const appliedIndex = this.appliedIndexValue;
    await this.diskPause.write("applyState", () => this.disk.applyState(writes, appliedIndex));
    if (events.length > 0) {
      const revision = this.stateMachine.kv.revision;
      for (const listener of this.appliedListeners) listener(events, revision);
    }
    if (platform.length > 0) {
      const revision = this.stateMachine.kv.revision;
      for (const listener of this.platformListeners) listener(platform, revision);
    }
    const metrics = this.options.metrics;
    metrics.appliedIndex.set(this.appliedIndexValue);
    metrics.proposalsApplied.inc(commandsApplied);
    metrics.proposalsCommitted.inc(commandsApplied);
    for (const [id, result] of results) this.waiters.resolve(id, result);
    metrics.proposalsPending.set(this.waiters.pending);
    this.reads.onApplied(this.appliedIndexValue);
  }

  private onSoftState(next: SoftState): void {
    const previous = this.softState;
    this.softState = next;
    const metrics = this.options.metrics;
    metrics.hasLeader.set(next.leader !== 0 ? 1 : 0);
    metrics.isLeader.set(next.role === "leader" ? 1 : 0);
    if (next.leader !== previous.leader) {
      if (next.leader !== 0) metrics.leaderChanges.inc();
      if (previous.leader !== 0) {
        // Proposals forwarded to (or made by) the old leader may be lost with
        // it; fail them now rather than at the request timeout. Like a timeout
        // the outcome is unknown to the client: the entry may still commit.
        this.waiters.failAll(new CairnError("LEADER_CHANGED"), "leader-changed");
      }
      const leaderName = this.options.members.get(next.leader)?.name ?? null;
      this.options.logger.info({ leader: leaderName, role: next.role }, "leader changed");
    }
    if (next.role !== previous.role) {
      this.options.logger.info({ from: previous.role, to: next.role }, "role changed");
    }
    for (const listener of this.leadershipListeners) listener(next);
  }

  private fatal(error: unknown): void {
    // The core's contract: a storage failure makes the node inoperable. Stop
    // serving rather than answer from a state that may not be durable.
    this.options.logger.fatal({ err: error }, "raft loop failed; stopping this member");
    this.stopped = true;
    this.waiters.failAll(new CairnError("STOPPED"), "fatal");
    this.reads.failAll(new CairnError("STOPPED"));
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 100).unref();
  }
}

function messageBytes(message: Message): number {
  let bytes = MESSAGE_OVERHEAD_BYTES;
  for (const entry of message.entries) bytes += entry.data.byteLength;
  return bytes;
}
