// One cairn member's Raft loop: the thin shell around the pure core.
// Rules of the loop (etcd-io/raft's contract, see src/raft/types.ts Ready):
//  1. Work that arrives while a Ready is being handled (peer messages,
//     proposals, ticks, read barriers) is queued in the inbox and stepped in
//     one go before the next ready(): that is the group commit.
//  2. Entries + hard state of a Ready are written in ONE synced LevelDB batch
//     before any of its messages leave, except the leader's replication
//     traffic (Ready.earlyMessages), which leaves first so that followers
//     write in parallel with us (see src/raft/raw-node.ts). A Ready that
//     only moves the commit index writes nothing (rule 3 takes it to disk).
//  3. Committed entries are applied in memory and their waiters resolved at
//     once: during the Ready's write on a leader, after its acknowledgements
//     left on a follower. Their rows, the applied index and the commit index
//     covering them are written later, in one unsynced batch per 100 ms (as
//     etcd commits its backend), so a crash replays from the applied index.
//  4. advance() after the write and the apply.
import { randomInt } from "node:crypto";
import { MemoryStorage, RawNode } from "../raft/index.js";
import type {
  ConfState,
  Entry,
  EntryKind,
  HardState,
  Message,
  NodeId,
  Ready,
  Snapshot,
  SnapshotMeta,
  SoftState,
} from "../raft/types.js";
import type { ClusterMember } from "../state/cluster-members.js";
import { type Command, decodeCommand, encodeCommand } from "../state/command.js";
import { keyString } from "../state/key-range.js";
import type { WatchEvent } from "../state/mvcc/key-value.js";
import type { PlatformEvent } from "../state/platform/results.js";
import { type ApplyResult, StateMachine } from "../state/state-machine.js";
import type { TableWrite } from "../state/table-write.js";
import {
  CorruptRecordError,
  DiskStore,
  type DiskWriteFaults,
  type LoadedState,
  type StateExportRecord,
} from "../storage/index.js";
import { PeerTransport } from "../transport/index.js";
import { registerMembershipService } from "../transport/membership-rpc.js";
import { assert } from "../util/assert.js";
import { TRACE_ENABLED, trace } from "../util/latency-trace.js";
import { proposalRefusal } from "./admission.js";
import { bootstrap, peersOfEmptyMember } from "./bootstrap.js";
import { DiskPause, LoopStoppedError } from "./disk-pause.js";
import { CairnError } from "./errors.js";
import { chooseSuccessor, LeaderTransfers } from "./leader-transfer.js";
import type { Logger } from "./logger.js";
import { toConfChange } from "./member-changes.js";
import type { NodeMetrics } from "./metrics.js";
import { ProposalWaiters } from "./proposals.js";
import { ReadIndexBatcher } from "./read-index.js";
import { SnapshotShipping, snapshotHandler } from "./snapshots.js";
import { NO_FSYNC_WRITEBACK_MS, skipsReadBarrier, type UnsafeSwitches } from "./unsafe.js";

export interface RaftNodeOptions {
  readonly name: string;
  readonly id: NodeId;
  readonly clusterId: number;
  readonly dataDir: string;
  readonly listenPeer: string;
  /**
   * --initial-cluster: id → name and peer address. With "new" these are the
   * initial voters, written as the log's first entries; with "existing" they
   * are only the peers asked for the membership when joining.
   */
  readonly members: ReadonlyMap<NodeId, { name: string; peerAddress: string }>;
  readonly initialClusterState: "new" | "existing";
  /** Applied entries between snapshot points (etcd --snapshot-count). */
  readonly snapshotCount: number;
  /** Entries kept below a snapshot point for slow followers (etcd --snapshot-catchup-entries). */
  readonly snapshotCatchupEntries: number;
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
  /** Test-only planted bugs (--unsafe): stale-reads, no-read-index, no-fsync, no-quorum-check act here. */
  readonly unsafe?: UnsafeSwitches;
  /** Test-only (--unsafe-peer-dial): membership peer address → address actually dialed. */
  readonly peerDialOverrides?: ReadonlyMap<string, string>;
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
const CONF_HISTORY_MAX = 16;
/**
 * Bytes of proposals handed to the core as one batch (one MsgProp when a
 * follower forwards them): the leader's MsgApps are cut at 1 MiB anyway.
 */
const PROPOSAL_BATCH_BYTES_MAX = 1024 * 1024;
/**
 * How long applied rows may wait before they are written (etcd commits its
 * backend batch every 100 ms too). A crash loses nothing by it: the log still
 * holds the entries to replay.
 */
const STATE_FLUSH_INTERVAL_MS = 100;
/** Bounds on applied rows waiting to be written (etcd's backend batch limit is 10 000). */
const STATE_PENDING_WRITES_MAX = 10_000;
const STATE_PENDING_BYTES_MAX = 64 * 1024 * 1024;

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
/** Told after each applied membership change, with the membership now in force. */
export type MembershipListener = (members: readonly ClusterMember[]) => void;

export class RaftNode {
  /** Replaced wholesale when a snapshot is installed: read it through the getter, never cache it. */
  private machine: StateMachine;
  private readonly snapshots: SnapshotShipping;
  /** Recent configurations by the applied index they took effect at, for snapshot metas. */
  private readonly confHistory: Array<{ index: number; confState: ConfState }> = [];
  private readonly appliedListeners: AppliedListener[] = [];
  private readonly platformListeners: PlatformAppliedListener[] = [];
  private readonly stateReplacedListeners: (() => void)[] = [];
  private readonly leadershipListeners: LeadershipListener[] = [];
  private readonly membershipListeners: MembershipListener[] = [];
  private confState: ConfState;
  private readonly waiters: ProposalWaiters;
  private readonly reads: ReadIndexBatcher;
  private readonly transfers = new LeaderTransfers();
  private inboxMessages: Message[] = [];
  private inboxProposals: Uint8Array[] = [];
  private inboxProposalKinds: EntryKind[] = [];
  private inboxProposalIds: number[] = [];
  private inboxTransfers: NodeId[] = [];
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
  /**
   * Rows applied (and answered) but not yet written, and a commit index not
   * yet written (see persist and flushState).
   */
  private pendingState: PendingState | null = null;
  private pendingHardState: HardState | null = null;
  /** A write of pending rows is in flight. */
  private stateWriting = false;
  /** Set by the flush timer: the next loop turn writes the pending rows on their own. */
  private stateFlushDue = false;
  private stateFlushTimer: NodeJS.Timeout | null = null;
  /** Exports waiting for every applied row to be on disk. */
  private readonly stateFlushWaiters: (() => void)[] = [];
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
    this.confState = memory.initialState().confState;
    this.confHistory.push({ index: appliedIndex, confState: this.confState });
    this.machine = new StateMachine({ maxTxnOps: options.maxTxnOps });
    this.snapshots = new SnapshotShipping({
      sendSnapshot: (peer, snapshot, signal) =>
        this.transport.sendSnapshot(peer, snapshot, { signal }),
      currentTerm: () => this.raw.status().term,
      exportState: () => this.exportState(),
      metaAt: (index) => this.snapshotMetaAt(index),
      report: (peer, ok) => {
        this.raw.reportSnapshot(peer, ok);
        this.schedule();
      },
      logger: options.logger,
      metrics: options.metrics,
    });
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
        options.metrics.walBatchEntries.observe(entries);
        if (durationMs > SLOW_FSYNC_MS) {
          log.warn({ durationMs, entries, bytes }, "slow fsync of the raft log");
        }
      },
      ...(options.diskFaults === undefined ? {} : { faults: options.diskFaults }),
      ...(options.unsafe?.has("no-fsync") === true
        ? { unsafeWriteBehindMs: NO_FSYNC_WRITEBACK_MS }
        : {}),
    });
    const loaded = await disk.load();
    if (loaded.confState === null) {
      // First start (or one that crashed before its last step): every step is idempotent.
      const first = await bootstrap(options, disk);
      log.info(
        {
          state: options.initialClusterState,
          member: first.loaded.identity?.memberId.toString(16),
        },
        "bootstrapped a new member",
      );
      return RaftNode.boot(options, disk, first.loaded, first.peers);
    }
    // A member that never received any state (a joiner stopped before its first
    // snapshot) has no membership table to find its peers in.
    const empty = loaded.entries.length === 0 && loaded.snapshotMeta === null;
    const peers =
      empty && loaded.identity !== null
        ? await peersOfEmptyMember(options, loaded.identity.memberId)
        : new Map<NodeId, string>();
    return RaftNode.boot(options, disk, loaded, peers);
  }

  /** `peers`: whom to contact until the membership table (loaded or replayed) says otherwise. */
  private static async boot(
    flags: RaftNodeOptions,
    disk: DiskStore,
    loaded: LoadedState,
    peers: ReadonlyMap<NodeId, string>,
  ): Promise<RaftNode> {
    const log = flags.logger;
    const identity = loaded.identity;
    if (identity === null || loaded.confState === null) {
      throw new CorruptRecordError(
        disk.dataDir,
        "meta member-id",
        "missing: the data dir records no member identity",
      );
    }
    if (identity.memberId !== flags.id && flags.initialClusterState === "new") {
      log.warn(
        { recorded: identity.memberId.toString(16), flags: flags.id.toString(16) },
        "the data dir belongs to another member id than --name suggests; using the recorded one",
      );
    }
    const options: RaftNodeOptions = {
      ...flags,
      id: identity.memberId,
      clusterId: identity.clusterId,
    };
    const memory = new MemoryStorage();
    if (loaded.snapshotMeta !== null) {
      memory.applySnapshot({ meta: loaded.snapshotMeta, data: new Uint8Array(0) });
    }
    // The configuration as of the applied index; the log after it replays later changes.
    memory.setConfState(loaded.confState);
    memory.setHardState(loaded.hardState);
    if (loaded.entries.length > 0) {
      memory.append(loaded.entries);
    }
    const node = await RaftNode.assemble(options, disk, memory, loaded.appliedIndex, peers);
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
    peers: ReadonlyMap<NodeId, string>,
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
      // Off also ends the leader lease that makes followers ignore votes (see unsafe.ts).
      checkQuorum: options.unsafe?.has("no-quorum-check") !== true,
      rand: { nextInt: (maxExclusive: number) => randomInt(maxExclusive) },
      logger: {
        event: (name: string, fields: Readonly<Record<string, unknown>>) =>
          options.logger.info(fields, `raft ${name}`),
      },
    });
    let node: RaftNode | null = null;
    const transport = new PeerTransport({
      selfId: options.id,
      clusterId: options.clusterId,
      listenAddress: options.listenPeer,
      // Set from the membership once the state is loaded (see syncPeers).
      peers: new Map(),
      snapshotHandler: snapshotHandler({
        selfId: options.id,
        begin: (transferId) => disk.beginSnapshotStaging(transferId),
        stage: (rows) => disk.stageRows(rows),
        abort: () => disk.abortStaging(),
        deliver: (message) => node?.deliverSnapshot(message),
        logger: options.logger,
      }),
      registerServices: (server) =>
        registerMembershipService(server, () => ({
          clusterId: options.clusterId,
          members: node?.stateMachine.clusterMembers.list() ?? [],
        })),
      onMessages: (messages: Message[]) => node?.receive(messages),
      logger: options.logger,
      onUnreachable: (peer: NodeId) => node?.peerUnreachable(peer),
    });
    node = new RaftNode(options, disk, memory, raw, transport, appliedIndex);
    for (const table of StateMachine.tables) {
      for await (const [key, value] of disk.iterateTable(table)) {
        node.stateMachine.loadRow(table, key, value);
      }
    }
    const members = node.stateMachine.clusterMembers.list();
    node.syncPeers(members.length > 0 ? peerAddresses(members) : peers);
    await transport.start();
    node.ticker = setInterval(() => node?.onTick(), options.tickMs);
    return node;
  }

  get stateMachine(): StateMachine {
    return this.machine;
  }

  get appliedIndex(): number {
    return this.appliedIndexValue;
  }

  get id(): NodeId {
    return this.options.id;
  }

  /** The cluster id recorded at this member's first start. */
  get clusterId(): number {
    return this.options.clusterId;
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
  async *exportState(): AsyncGenerator<StateExportRecord, void, undefined> {
    // Proposers may have been answered for entries whose rows are not on disk yet.
    if ((this.pendingState !== null || this.stateWriting) && !this.stopped) {
      await new Promise<void>((resolve) => {
        this.stateFlushWaiters.push(resolve);
        this.schedule();
      });
    }
    yield* this.disk.exportState(StateMachine.tables);
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

  /** Told after a snapshot install replaced the whole state machine. */
  onStateReplaced(listener: () => void): void {
    this.stateReplacedListeners.push(listener);
  }

  onLeadership(listener: LeadershipListener): void {
    this.leadershipListeners.push(listener);
  }

  onMembership(listener: MembershipListener): void {
    this.membershipListeners.push(listener);
  }

  /** The Raft configuration as of the last applied entry. */
  get configuration(): ConfState {
    return this.confState;
  }

  /** A member's name as the membership records it ("" if unknown or not yet started). */
  memberName(id: NodeId): string {
    return (
      this.stateMachine.memberAttributes.get(id)?.name ||
      this.stateMachine.clusterMembers.get(id)?.name ||
      ""
    );
  }

  /** Makes the transport's peers match `peers` (id → host:port), never including ourselves. */
  private syncPeers(peers: ReadonlyMap<NodeId, string>): void {
    for (const id of this.transport.peerStats().keys()) {
      if (!peers.has(id)) this.transport.removePeer(id);
    }
    const overrides = this.options.peerDialOverrides;
    for (const [id, address] of peers) {
      if (id === this.options.id || address === "") continue;
      this.transport.addPeer(id, overrides?.get(address) ?? address);
    }
  }

  get isLeader(): boolean {
    return this.softState.role === "leader";
  }

  /** Proposes a command and resolves with its apply result on this member. */
  propose(command: LocalCommand): Promise<ApplyResult> {
    return this.proposeEntry(command, "normal");
  }

  /**
   * Proposes a membership change as a configuration-change entry. The leader
   * takes one at a time; a refusal because another is still being applied
   * fails with CONF_CHANGE_PENDING, which callers retry.
   */
  proposeMemberChange(
    command: Extract<LocalCommand, { kind: "cluster-member" }>,
  ): Promise<ApplyResult> {
    return this.proposeEntry(command, "conf-change");
  }

  private proposeEntry(command: LocalCommand, kind: EntryKind): Promise<ApplyResult> {
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
    this.inboxProposalKinds.push(kind);
    this.inboxProposalIds.push(id);
    if (TRACE_ENABLED) trace("propose", id);
    this.options.metrics.proposalsPending.set(this.waiters.pending);
    this.schedule();
    return result;
  }

  /**
   * Asks the core to hand leadership to `target` (a voter; this member should
   * lead) and resolves once `target` leads. While the transfer runs, this
   * member's new proposals wait and then go to the new leader (or, if the
   * transfer fails, are proposed here). Rejects with etcd's "leader transfer
   * took too long" once the core gives up or after `timeoutMs`.
   */
  transferLeadership(target: NodeId, timeoutMs: number): Promise<void> {
    if (this.stopped) {
      return Promise.reject(new CairnError("STOPPED"));
    }
    const done = this.transfers.wait(target, timeoutMs);
    this.inboxTransfers.push(target);
    this.schedule();
    return done;
  }

  /** The voter this member, if it leads, should hand over to now; null if none can take over. */
  chooseSuccessor(): NodeId | null {
    return chooseSuccessor(this.raw.status(), this.options.electionTicks);
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
    if (this.options.unsafe !== undefined && skipsReadBarrier(this.options.unsafe, this.role)) {
      return Promise.resolve(); // a planted bug: answer from local state, unconfirmed
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
    this.snapshots.stop();
    while (this.loopRunning) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    this.waiters.failAll(new CairnError("STOPPED"), "stopped");
    this.reads.failAll(new CairnError("STOPPED"));
    this.transfers.failAll(new CairnError("STOPPED"));
    try {
      // A restart would replay them from the log; writing them spares it that.
      await this.flushState();
    } catch (error) {
      if (!(error instanceof LoopStoppedError)) {
        this.options.logger.warn({ err: error }, "could not write applied rows at stop");
      }
    }
    this.releaseStateWaiters();
    await this.transport.stop();
    await this.disk.close();
  }

  private peerUnreachable(peer: NodeId): void {
    this.raw.reportUnreachable(peer);
    this.transfers.peerDown(peer);
  }

  private receive(messages: Message[]): void {
    if (this.stopped) return;
    if (messages.some((m) => m.type === "MsgSnap")) {
      // Snapshots arrive only through InstallSnapshot, which stages their rows first.
      messages = messages.filter((m) => m.type !== "MsgSnap");
    }
    let bytes = 0;
    for (const message of messages) bytes += messageBytes(message);
    if (
      this.inboxMessages.length + messages.length > INBOX_MESSAGES_MAX ||
      this.inboxMessageBytes + bytes > INBOX_MESSAGE_BYTES_MAX
    ) {
      return; // Raft tolerates message loss; memory does not tolerate an unbounded inbox.
    }
    this.inboxMessageBytes += bytes;
    if (TRACE_ENABLED) for (const m of messages) trace(`recv-${m.type}`, m.from, lastIndexOf(m));
    for (const message of messages) this.inboxMessages.push(message);
    this.schedule();
  }

  /** A MsgSnap whose rows InstallSnapshot has staged: the only way one reaches the core. */
  private deliverSnapshot(message: Message): void {
    if (this.stopped) return;
    this.inboxMessages.push(message);
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
    for (const target of this.inboxTransfers.splice(0)) this.raw.transferLeader(target);
    this.transfers.observe(this.raw.basicStatus());
    if (!this.transfers.holdsProposals) this.proposeInbox();
    this.reads.pump(Date.now());
  }

  private proposeInbox(): void {
    const proposals = this.inboxProposals;
    const kinds = this.inboxProposalKinds;
    const ids = this.inboxProposalIds;
    this.inboxProposals = [];
    this.inboxProposalKinds = [];
    this.inboxProposalIds = [];
    this.inboxProposalBytes = 0;
    // Normal proposals go to the core in batches: one append, one MsgApp per
    // follower and one ack each, instead of one per proposal.
    let batch: Uint8Array[] = [];
    let batchIds: number[] = [];
    let batchBytes = 0;
    const proposeBatch = () => {
      if (batch.length === 0) return;
      const outcome = this.raw.proposeBatch(batch);
      if (!outcome.ok) {
        // Never in the log: "no leader" tells clients it is safe to retry.
        for (const id of batchIds)
          this.waiters.fail(id, new CairnError("NO_LEADER"), outcome.reason);
      }
      batch = [];
      batchIds = [];
      batchBytes = 0;
    };
    for (let i = 0; i < proposals.length; i++) {
      const id = ids[i] as number;
      // Held through a transfer past its deadline: the caller was told
      // "timed out" (an unknown outcome), so not proposing it is allowed.
      if (!this.waiters.has(id)) continue;
      const data = proposals[i] as Uint8Array;
      if (kinds[i] !== "conf-change") {
        if (batchBytes + data.byteLength > PROPOSAL_BATCH_BYTES_MAX) proposeBatch();
        batch.push(data);
        batchIds.push(id);
        batchBytes += data.byteLength;
        continue;
      }
      proposeBatch(); // in arrival order
      const outcome = this.raw.proposeConfChange(data);
      if (!outcome.ok) {
        const error =
          outcome.reason === "conf-change-pending"
            ? new CairnError("CONF_CHANGE_PENDING")
            : new CairnError("NO_LEADER");
        this.waiters.fail(id, error, outcome.reason);
      }
    }
    proposeBatch();
  }

  private async runLoop(): Promise<void> {
    this.loopRunning = true;
    if (TRACE_ENABLED) trace("loop");
    try {
      this.drainInbox();
      while (this.raw.hasReady() && !this.stopped) {
        await this.handleReady(this.raw.ready());
        if (this.stateFlushNeeded()) await this.flushState();
        this.drainInbox();
      }
      if (this.stateFlushNeeded() && !this.stopped) await this.flushState();
    } finally {
      this.loopRunning = false;
    }
    const proposalsReady = this.inboxProposals.length > 0 && !this.transfers.holdsProposals;
    if (
      this.inboxTicks > 0 ||
      this.inboxMessages.length > 0 ||
      this.inboxTransfers.length > 0 ||
      proposalsReady
    ) {
      // Held proposals need no turn of their own: the tick or message that
      // ends the hold schedules one.
      this.schedule();
    }
  }

  private async handleReady(ready: Ready): Promise<void> {
    if (TRACE_ENABLED) {
      trace("ready", ready.entries.at(-1)?.index ?? 0, ready.committedEntries.at(-1)?.index ?? 0);
    }
    if (ready.softState !== null) this.onSoftState(ready.softState);
    if (ready.earlyMessages.length > 0) this.send(ready.earlyMessages);
    if (ready.snapshot !== null) {
      // Before the entries: they follow the snapshot in the log.
      await this.flushState();
      await this.installSnapshot(ready.snapshot);
    }
    // Committed entries were durable on a quorum before this Ready (raw-node.ts):
    // applying them, and answering their proposers, waits for nothing it
    // writes. So a leader applies while its disk writes. Messages that wait
    // for the write (a follower's acks) go first, though: the apply would hold
    // them up for its CPU time, and the leader's commit waits for them.
    const persisted = this.persist(ready);
    const applyDuringWrite = ready.messages.length === 0 && ready.committedEntries.length > 0;
    let applied = applyDuringWrite ? this.applyInMemory(ready.committedEntries) : null;
    await persisted;
    if (ready.messages.length > 0) this.send(ready.messages);
    if (!applyDuringWrite && ready.committedEntries.length > 0) {
      applied = this.applyInMemory(ready.committedEntries);
    }
    if (applied?.confChanged === true) await this.applyConfState(applied);
    if (applied !== null) await this.maybeSnapshot();
    for (const readState of ready.readStates) {
      this.reads.onReadState(readState.requestContext, readState.index, this.appliedIndexValue);
    }
    this.raw.advance(ready);
    if (TRACE_ENABLED) trace("advance");
    const status = this.raw.status();
    this.commitIndexValue = status.commit;
    this.options.metrics.term.set(status.term);
    this.options.metrics.commitIndex.set(status.commit);
  }

  /**
   * Entries and hard state of a Ready in one batch, synced when it must be.
   * A Ready that changes only the commit index writes nothing: Raft can
   * re-learn a commit index, and the next write of the pending rows takes it
   * to disk with them (their applied index must never be ahead of the commit
   * index on disk). The rows stay out of this batch: its fsync is what
   * acknowledgements wait for, and it takes longer the more it carries.
   */
  private async persist(ready: Ready): Promise<void> {
    if (ready.entries.length === 0 && !ready.mustSync) {
      if (ready.hardState !== null) {
        this.pendingHardState = ready.hardState;
        this.memory.setHardState(ready.hardState);
      }
      return;
    }
    const noFsync = this.options.unsafe?.has("no-fsync") === true;
    const hardState = ready.hardState ?? this.pendingHardState;
    this.pendingHardState = null;
    if (TRACE_ENABLED) trace("persist-start", ready.entries.length, ready.mustSync ? 1 : 0);
    await this.diskPause.write("persistRaft", () =>
      this.disk.persistRaft(ready.entries, hardState, {
        sync: ready.mustSync && !noFsync,
        unsafeUnsyncedEntries: noFsync,
      }),
    );
    if (hardState !== null) this.memory.setHardState(hardState);
    if (ready.entries.length > 0) this.memory.append([...ready.entries]);
    if (TRACE_ENABLED) trace("persist-end", ready.entries.length);
  }

  private stateFlushNeeded(): boolean {
    const pending = this.pendingState;
    if (pending === null) return this.stateFlushWaiters.length > 0;
    return (
      this.stateFlushDue ||
      this.stateFlushWaiters.length > 0 ||
      pending.rows.size >= STATE_PENDING_WRITES_MAX ||
      pending.bytes >= STATE_PENDING_BYTES_MAX
    );
  }

  /**
   * Writes the rows applied since the last such write, the applied index and
   * the commit index covering them, in one unsynced batch, like etcd's
   * backend commit: every STATE_FLUSH_INTERVAL_MS, when they grow past their
   * bounds, and before anything that reads the state on disk or needs it
   * there (exports, snapshot points, snapshot installs, configuration
   * changes, stop). A crash loses nothing by the wait: the log still holds
   * the entries, and a restart applies them again from the applied index.
   */
  private async flushState(): Promise<void> {
    const pending = this.pendingState;
    if (pending !== null) {
      this.pendingState = null;
      // The commit index goes with the rows, or stays pending until some do.
      const hardState = this.pendingHardState;
      this.pendingHardState = null;
      if (this.stateFlushTimer !== null) clearTimeout(this.stateFlushTimer);
      this.stateFlushTimer = null;
      this.stateFlushDue = false;
      const state = {
        writes: [...pending.rows.values()],
        appliedIndex: pending.appliedIndex,
        options: {
          ...(pending.confState === undefined ? {} : { confState: pending.confState }),
          ...(hardState === null ? {} : { hardState }),
        },
      };
      if (TRACE_ENABLED) trace("apply-write-start", state.writes.length);
      this.stateWriting = true;
      try {
        await this.diskPause.write("applyState", () =>
          this.disk.applyState(state.writes, state.appliedIndex, state.options),
        );
      } finally {
        this.stateWriting = false;
      }
      if (TRACE_ENABLED) trace("apply-write-end");
    }
    for (const resolve of this.stateFlushWaiters.splice(0)) resolve();
  }

  /** Adds a batch's rows to the pending ones, and arms the timer that bounds how long they wait. */
  private addPendingState(batch: AppliedBatch): void {
    let pending = this.pendingState;
    if (pending === null) {
      pending = { rows: new Map(), appliedIndex: batch.appliedIndex, bytes: 0 };
      this.pendingState = pending;
    }
    for (const write of batch.writes) {
      // A later write of the same row replaces the earlier one (the batch applies atomically).
      pending.rows.set(`${write.table}\u0000${keyString(write.key)}`, write);
      pending.bytes += write.key.byteLength + (write.value?.byteLength ?? 0);
    }
    pending.appliedIndex = batch.appliedIndex;
    if (batch.confChanged) pending.confState = this.confState;
    if (this.stateFlushTimer === null) {
      this.stateFlushTimer = setTimeout(() => {
        this.stateFlushTimer = null;
        this.stateFlushDue = true;
        this.schedule();
      }, STATE_FLUSH_INTERVAL_MS);
      this.stateFlushTimer.unref();
    }
  }

  /** Meta of the state after `index`: its term and the configuration then in force. */
  private snapshotMetaAt(index: number): SnapshotMeta {
    let confState = this.confState;
    for (const record of this.confHistory) {
      if (record.index <= index) confState = record.confState;
    }
    return { index, term: this.memory.term(index), confState };
  }

  /**
   * Follower: the core accepted a snapshot whose rows are staged. Swap the
   * state on disk (crash-safe, see DiskStore.installStagedSnapshot), rebuild
   * the in-memory state machine from it, and restart the log after it.
   */
  private async installSnapshot(snapshot: Snapshot): Promise<void> {
    const meta = snapshot.meta;
    await this.diskPause.write("installStagedSnapshot", () =>
      this.disk.installStagedSnapshot(meta),
    );
    const machine = new StateMachine({ maxTxnOps: this.options.maxTxnOps });
    for (const table of StateMachine.tables) {
      for await (const [key, value] of this.disk.iterateTable(table)) {
        machine.loadRow(table, key, value);
      }
    }
    this.machine = machine;
    this.memory.applySnapshot(snapshot);
    this.appliedIndexValue = meta.index;
    this.confState = meta.confState;
    this.confHistory.length = 0;
    this.confHistory.push({ index: meta.index, confState: meta.confState });
    const members = machine.clusterMembers.list();
    this.syncPeers(peerAddresses(members));
    this.options.metrics.snapshotsInstalled.inc();
    this.options.metrics.appliedIndex.set(meta.index);
    this.options.logger.info({ index: meta.index, term: meta.term }, "installed a snapshot");
    for (const listener of this.membershipListeners) listener(members);
    for (const listener of this.stateReplacedListeners) listener();
    // Requests waiting for entries the snapshot covers learn nothing of their
    // outcome from it: like a leader change, the result is unknown.
    this.waiters.failAll(new CairnError("LEADER_CHANGED"), "snapshot-installed");
    this.reads.onApplied(meta.index);
  }

  /** Raft messages out; a MsgSnap becomes a stream of our current state (see snapshots.ts). */
  private send(messages: readonly Message[]): void {
    if (TRACE_ENABLED) for (const m of messages) trace(`send-${m.type}`, m.to, lastIndexOf(m));
    const plain: Message[] = [];
    for (const message of messages) {
      if (message.type === "MsgSnap") this.snapshots.send(message);
      else plain.push(message);
    }
    if (plain.length > 0) this.transport.send(plain);
  }

  /**
   * Every snapshotCount applied entries: record a snapshot point (the applied
   * state, made durable by the synced meta write: LevelDB syncs its whole log)
   * and drop log entries older than snapshotCatchupEntries below it.
   */
  private async maybeSnapshot(): Promise<void> {
    const applied = this.appliedIndexValue;
    const snapshotIndex = this.memory.snapshot().meta.index;
    if (applied - snapshotIndex < this.options.snapshotCount) {
      return;
    }
    // The snapshot point promises the state as of `applied` is on disk.
    await this.flushState();
    const { meta } = this.memory.createSnapshot(applied, this.confState, new Uint8Array(0));
    await this.diskPause.write("setSnapshotMeta", () => this.disk.setSnapshotMeta(meta));
    const keepFrom = applied - this.options.snapshotCatchupEntries;
    if (keepFrom > this.memory.firstIndex()) {
      // Memory keeps the entry before keepFrom as its dummy (its term is still needed).
      await this.diskPause.write("compactLog", () => this.disk.compactLog(keepFrom));
      this.memory.compact(keepFrom - 1);
    }
    this.options.metrics.snapshots.inc();
    this.options.logger.info(
      { index: applied, term: meta.term, logFrom: this.memory.firstIndex() },
      "recorded a snapshot point and compacted the log",
    );
  }

  /**
   * Applies committed entries to the in-memory state machine. Unless one
   * changes the configuration, their results are published at once (waiters,
   * watchers, reads): the rows wait to ride with the next write (flushState),
   * unsynced as ever, and a crash before they land replays the same entries
   * to the same results.
   */
  private applyInMemory(entries: readonly Entry[]): AppliedBatch {
    const batch: AppliedBatch = {
      writes: [],
      results: [],
      events: [],
      platform: [],
      appliedIndex: this.appliedIndexValue,
      commands: 0,
      confChanged: false,
    };
    for (const entry of entries) {
      assert(
        entry.index === this.appliedIndexValue + 1,
        `apply gap: ${entry.index} after ${this.appliedIndexValue}`,
      );
      this.appliedIndexValue = entry.index;
      if (entry.data.byteLength === 0) continue;
      const command = decodeCommand(entry.data);
      assert(
        (entry.kind === "conf-change") === (command.kind === "cluster-member"),
        `entry ${entry.index}: ${entry.kind} entry carries a ${command.kind} command`,
      );
      const applied = this.stateMachine.apply(command);
      batch.commands++;
      if (command.kind === "cluster-member" && applied.result.kind === "cluster-member") {
        // The state machine accepted it, so the Raft configuration follows, on every member alike.
        this.confState = this.raw.applyConfChange(toConfChange(command.change, command.memberId));
        batch.confChanged = true;
      }
      for (const write of applied.writes) batch.writes.push(write);
      // Request ids are per member: another member's command may carry an id
      // this member also handed out, and must not answer this member's waiter.
      if (command.from === this.options.id) batch.results.push([command.id, applied.result]);
      if (applied.events.length > 0) batch.events.push(...applied.events);
      if (applied.platform !== undefined) batch.platform.push(...applied.platform);
    }
    batch.appliedIndex = this.appliedIndexValue;
    this.addPendingState(batch);
    if (!batch.confChanged) this.publishApplied(batch);
    return batch;
  }

  /** A configuration change takes effect once it is on disk with the rows and applied index before it. */
  private async applyConfState(batch: AppliedBatch): Promise<void> {
    await this.flushState();
    this.memory.setConfState(this.confState);
    this.confHistory.push({ index: batch.appliedIndex, confState: this.confState });
    if (this.confHistory.length > CONF_HISTORY_MAX) this.confHistory.shift();
    const members = this.stateMachine.clusterMembers.list();
    this.syncPeers(peerAddresses(members));
    for (const listener of this.membershipListeners) listener(members);
    this.publishApplied(batch);
  }

  /** On a fatal error or stop: an export then reads what is there rather than hang. */
  private releaseStateWaiters(): void {
    for (const resolve of this.stateFlushWaiters.splice(0)) resolve();
  }

  /** Tells watchers, proposers and waiting reads what a batch changed. */
  private publishApplied(batch: AppliedBatch): void {
    if (batch.events.length > 0) {
      const revision = this.stateMachine.kv.revision;
      for (const listener of this.appliedListeners) listener(batch.events, revision);
    }
    if (batch.platform.length > 0) {
      const revision = this.stateMachine.kv.revision;
      for (const listener of this.platformListeners) listener(batch.platform, revision);
    }
    const metrics = this.options.metrics;
    metrics.appliedIndex.set(batch.appliedIndex);
    metrics.proposalsApplied.inc(batch.commands);
    metrics.proposalsCommitted.inc(batch.commands);
    if (TRACE_ENABLED) for (const [id] of batch.results) trace("resolve", id);
    for (const [id, result] of batch.results) this.waiters.resolve(id, result);
    metrics.proposalsPending.set(this.waiters.pending);
    this.reads.onApplied(batch.appliedIndex);
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
        // Those still queued here never reached the core: they go to the new one.
        this.waiters.failAll(
          new CairnError("LEADER_CHANGED"),
          "leader-changed",
          new Set(this.inboxProposalIds),
        );
      }
      const leaderName = this.memberName(next.leader);
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
    this.releaseStateWaiters();
    this.waiters.failAll(new CairnError("STOPPED"), "fatal");
    this.reads.failAll(new CairnError("STOPPED"));
    this.transfers.failAll(new CairnError("STOPPED"));
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 100).unref();
  }
}

/** Rows applied but not yet written, with what a write of them records. */
interface PendingState {
  /** By table and key: only the last write of a row is kept. */
  readonly rows: Map<string, TableWrite>;
  appliedIndex: number;
  confState?: ConfState;
  /** Keys and values written (replaced ones included), for STATE_PENDING_BYTES_MAX. */
  bytes: number;
}

/** What applying one Ready's committed entries produced, until it is published. */
interface AppliedBatch {
  readonly writes: TableWrite[];
  readonly results: Array<[number, ApplyResult]>;
  readonly events: WatchEvent[];
  readonly platform: PlatformEvent[];
  appliedIndex: number;
  commands: number;
  confChanged: boolean;
}

/** id → first peer address of each member. */
function peerAddresses(members: readonly ClusterMember[]): Map<NodeId, string> {
  return new Map(members.map((m) => [m.id, m.peerUrls[0] ?? ""]));
}

function messageBytes(message: Message): number {
  let bytes = MESSAGE_OVERHEAD_BYTES;
  for (const entry of message.entries) bytes += entry.data.byteLength;
  return bytes;
}

/** MsgApp: index of its last entry (or of the one before them); others: their index. */
function lastIndexOf(message: Message): number {
  return message.index + message.entries.length;
}
