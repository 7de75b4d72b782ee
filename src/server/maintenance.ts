// etcd's Maintenance service (Status, Alarm, Defragment, Hash, HashKV,
// MoveLeader) and the
// write gate it implies: past --quota-backend-bytes a member raises the
// cluster-wide NOSPACE alarm through Raft, and from then on every member
// admits only reads, deletes and compaction until an operator disarms it.
import type { ServerWritableStream } from "@grpc/grpc-js";
import type { etcdserverpb } from "../gen/etcd.js";
import type { AlarmKind } from "../state/index.js";
import { encodeSnapshot } from "../storage/snapshot-file.js";
import { CairnError } from "./errors.js";
import type { HeaderSource, WriteGate } from "./kv-handlers.js";
import type { Logger } from "./logger.js";
import type { RaftNode } from "./raft-node.js";

export interface MaintenanceOptions {
  readonly quotaBackendBytes: number;
  readonly version: string;
  /** How often the member samples its db size for Status and the quota. */
  readonly sizeSampleIntervalMs: number;
  /** Longest MoveLeader waits for the target to lead (the core gives up sooner if it cannot). */
  readonly moveLeaderTimeoutMs: number;
}

const SNAPSHOT_CHUNK_BYTES = 64 * 1024;
const ALARM_KINDS: Readonly<Record<number, AlarmKind | "none">> = {
  0: "none",
  1: "nospace",
  2: "corrupt",
};
const ALARM_CODES: Readonly<Record<AlarmKind, number>> = { nospace: 1, corrupt: 2 };

export class Maintenance implements WriteGate {
  private dbSizeBytes = 0;
  private sampler: NodeJS.Timeout | null = null;
  private raising = false;

  constructor(
    private readonly node: RaftNode,
    private readonly headers: HeaderSource,
    private readonly options: MaintenanceOptions,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.sampleSize();
    this.sampler = setInterval(() => {
      this.sampleSize().catch((error: unknown) =>
        this.logger.warn({ err: error }, "db size sample failed"),
      );
    }, this.options.sizeSampleIntervalMs);
  }

  stop(): void {
    if (this.sampler !== null) clearInterval(this.sampler);
  }

  admit(kind: "write" | "delete" | "compact"): void {
    const alarms = this.node.stateMachine.alarms;
    if (alarms.has("corrupt")) throw new CairnError("CORRUPT");
    if (kind === "write" && alarms.has("nospace")) throw new CairnError("NO_SPACE");
  }

  status(): etcdserverpb.StatusResponse.$Properties {
    const raft = this.node.status();
    return {
      header: this.headers.header(this.node.stateMachine.kv.revision),
      version: this.options.version,
      dbSize: this.dbSizeBytes,
      dbSizeInUse: this.dbSizeBytes,
      leader: raft.leader,
      raftIndex: raft.commit,
      raftTerm: raft.term,
      raftAppliedIndex: this.node.appliedIndex,
      errors: this.node.stateMachine.alarms
        .list()
        .map((a) => `memberID:${a.memberId} alarm:${a.alarm.toUpperCase()} `),
      isLearner: this.node.stateMachine.clusterMembers.get(this.node.id)?.isLearner ?? false,
    };
  }

  async alarm(request: etcdserverpb.AlarmRequest): Promise<etcdserverpb.AlarmResponse.$Properties> {
    const kind = ALARM_KINDS[request.alarm];
    if (kind === undefined) {
      throw new CairnError(
        "INVALID_ARGUMENT",
        `etcdserver: unknown alarm type ${request.alarm}; use NONE, NOSPACE or CORRUPT`,
      );
    }
    if (request.action !== 0 && kind === "none") {
      throw new CairnError(
        "INVALID_ARGUMENT",
        "etcdserver: activating or deactivating needs an alarm type",
      );
    }
    if (request.action === 1 || request.action === 2) {
      await this.node.propose({
        kind: "alarm",
        action: request.action === 1 ? "activate" : "deactivate",
        memberId: request.memberID,
        alarm: kind as AlarmKind,
      });
    } else if (request.action !== 0) {
      throw new CairnError(
        "INVALID_ARGUMENT",
        `etcdserver: unknown alarm action ${request.action}; use GET, ACTIVATE or DEACTIVATE`,
      );
    } else {
      await this.node.linearizableBarrier();
    }
    const alarms = this.node.stateMachine.alarms
      .list()
      .filter((a) => kind === "none" || a.alarm === kind);
    return {
      header: this.headers.header(this.node.stateMachine.kv.revision),
      alarms: alarms.map((a) => ({ memberID: a.memberId, alarm: ALARM_CODES[a.alarm] })),
    };
  }

  /**
   * etcd's MoveLeader: only the leader accepts it, the target must be a
   * voter, and the answer comes once the target leads. Moving to the leader
   * itself is done at once, as in etcd.
   */
  async moveLeader(
    request: etcdserverpb.MoveLeaderRequest,
  ): Promise<etcdserverpb.MoveLeaderResponse.$Properties> {
    const raft = this.node.status();
    if (raft.role !== "leader") throw new CairnError("NOT_LEADER");
    const target = request.targetID;
    const self = this.node.id;
    // progress lists every voter but this one: the core's view, not the config's.
    if (target !== self && !raft.progress.has(target))
      throw new CairnError("BAD_LEADER_TRANSFEREE");
    if (target !== self) {
      const from = this.node.memberName(self);
      const to = this.node.memberName(target);
      this.logger.info({ from, to }, "leadership transfer requested (MoveLeader)");
      await this.node.transferLeadership(target, this.options.moveLeaderTimeoutMs);
      this.logger.info({ from, to }, "leadership transfer finished");
    }
    return { header: this.headers.header(this.node.stateMachine.kv.revision) };
  }

  async defragment(): Promise<etcdserverpb.DefragmentResponse.$Properties> {
    const { beforeBytes, afterBytes } = await this.node.defragment();
    this.dbSizeBytes = afterBytes;
    this.logger.info({ beforeBytes, afterBytes }, "defragmented");
    return { header: this.headers.header(this.node.stateMachine.kv.revision) };
  }

  hash(): etcdserverpb.HashResponse.$Properties {
    const result = this.node.stateMachine.hashKv(0);
    if (result.kind !== "hash") throw new CairnError("COMPACTED");
    return { header: this.headers.header(result.revision), hash: result.hash };
  }

  async hashKv(
    request: etcdserverpb.HashKVRequest,
  ): Promise<etcdserverpb.HashKVResponse.$Properties> {
    const result = this.node.stateMachine.hashKv(request.revision);
    if (result.kind !== "hash") {
      throw new CairnError(result.code === "future-rev" ? "FUTURE_REV" : "COMPACTED");
    }
    return {
      header: this.headers.header(result.revision),
      hash: result.hash,
      compactRevision: result.compactRevision,
    };
  }

  /** Streams a consistent snapshot of the state (`etcdctl snapshot save`), respecting backpressure. */
  async snapshot(
    call: ServerWritableStream<
      etcdserverpb.SnapshotRequest,
      etcdserverpb.SnapshotResponse.$Properties
    >,
  ): Promise<void> {
    let sentBytes = 0;
    const header = this.headers.header(this.node.stateMachine.kv.revision);
    for await (const chunk of encodeSnapshot(this.node.exportState(), SNAPSHOT_CHUNK_BYTES)) {
      if (call.cancelled) return;
      sentBytes += chunk.byteLength;
      // The total is unknown until the end; the db size is the estimate, and the last chunk says 0.
      const remainingBytes = Math.max(1, this.dbSizeBytes - sentBytes);
      if (!call.write({ header, remainingBytes, blob: chunk })) {
        await new Promise<void>((resolve) => call.once("drain", () => resolve()));
      }
    }
    call.write({ header, remainingBytes: 0, blob: new Uint8Array(0) });
    call.end();
  }

  private async sampleSize(): Promise<void> {
    this.dbSizeBytes = await this.node.dbSizeBytes();
    const raised = this.node.stateMachine.alarms
      .list()
      .some((a) => a.memberId === this.node.id && a.alarm === "nospace");
    if (this.dbSizeBytes <= this.options.quotaBackendBytes || raised || this.raising) return;
    this.raising = true;
    this.logger.warn(
      { dbSizeBytes: this.dbSizeBytes, quotaBytes: this.options.quotaBackendBytes },
      "db over quota: raising NOSPACE",
    );
    try {
      await this.node.propose({
        kind: "alarm",
        action: "activate",
        memberId: this.node.id,
        alarm: "nospace",
      });
    } finally {
      this.raising = false;
    }
  }
}
