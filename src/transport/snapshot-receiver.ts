// The follower's half of InstallSnapshot: serves the method on the peer port,
// checks every chunk (sequence, CRC, row format; the trailer's totals and
// SHA-256) and feeds the rows, one chunk per call, to the node's
// SnapshotHandler, which stages them. One transfer at a time per node; a
// second is refused with SnapshotBusyError. Any failure after begin() calls
// handler.abort() so staging never outlives a failed transfer; the leader
// simply sends the whole snapshot again later.
//
// Per transfer the handler sees: begin → stage* → complete, or begin →
// stage* → abort. Calls never overlap, and the next chunk is not read until
// the previous stage() resolved, so the receiver holds at most the chunks the
// sender's window allows (snapshot-sender.ts), whatever the disk's speed.

import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { ServerDuplexStream } from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";
import type { NodeId } from "../raft/types.js";
import { assertNever } from "../util/assert.js";
import { ClusterMismatchError, TRANSPORT_ERROR_STATUS, WireFormatError } from "./errors.js";
import type { LinkFaults } from "./link-faults.js";
import {
  crcOf,
  decodeChunk,
  encodeSnapshotAck,
  type SnapshotChunk,
  type SnapshotHeader,
  type SnapshotRow,
  unpackRows,
} from "./snapshot-codec.js";
import {
  SNAPSHOT_ERROR_STATUS,
  SnapshotBusyError,
  SnapshotChunkError,
  SnapshotIdleError,
  SnapshotRefusedError,
  SnapshotStagingError,
} from "./snapshot-errors.js";
import type { TransportLogger } from "./transport-logger.js";

/** How long a transfer may wait for the sender's next chunk before it is dropped. */
export const SNAPSHOT_IDLE_TIMEOUT_MS_DEFAULT = 30_000;
/**
 * A transfer whose sender has been silent this long gives way to a new one.
 * A live sender keeps its window of chunks in flight, so silence this long
 * means it is stalled: found by jepsen-lite, a leader paused (SIGSTOP) in the
 * middle of a transfer kept its follower refusing the new leader's snapshot
 * for the whole pause, and with that follower needed for a majority the
 * cluster could commit nothing.
 */
export const SNAPSHOT_PREEMPT_IDLE_MS_DEFAULT = 2_000;

export interface SnapshotTotals {
  readonly rows: number;
  readonly rowsChunks: number;
  /** Packed row bytes received. */
  readonly bytes: number;
}

/** The node's side of a transfer; every call for one transfer happens in order, one at a time. */
export interface SnapshotHandler {
  /** A transfer starts: prepare staging (DiskStore.beginSnapshotStaging). Throw to refuse it. */
  begin(header: SnapshotHeader): Promise<void>;
  /** Stage one chunk's rows (DiskStore.stageRows). Keys and values alias the chunk: copy to keep. */
  stage(header: SnapshotHeader, rows: readonly SnapshotRow[]): Promise<void>;
  /** Every row arrived intact: take the snapshot over (step MsgSnap). Resolving acknowledges the sender. */
  complete(header: SnapshotHeader, totals: SnapshotTotals): Promise<void>;
  /** The transfer failed after begin(): drop what was staged (DiskStore.abortStaging). */
  abort(header: SnapshotHeader, reason: Error): Promise<void>;
}

export interface SnapshotReceiverOptions {
  readonly selfId: NodeId;
  readonly clusterId: number;
  /** null: this node refuses snapshots (FAILED_PRECONDITION). */
  readonly handler: SnapshotHandler | null;
  readonly faults: LinkFaults;
  readonly logger: TransportLogger;
  readonly idleTimeoutMs?: number;
  /** A new transfer preempts one whose sender has been silent this long. */
  readonly preemptIdleMs?: number;
}

type ServerCall = ServerDuplexStream<Uint8Array, Uint8Array>;

/** Checks a header against this node; throws ClusterMismatchError or WireFormatError. Pure. */
export function validateSnapshotHeader(
  header: SnapshotHeader,
  expected: { readonly selfId: NodeId; readonly clusterId: number },
): void {
  if (header.clusterId !== expected.clusterId) {
    throw new ClusterMismatchError(expected.clusterId, header.clusterId);
  }
  if (header.from === 0 || header.from === expected.selfId) {
    throw new WireFormatError("header.from", `header.from must be a peer's id, got ${header.from}`);
  }
  if (header.to !== expected.selfId) {
    throw new WireFormatError(
      "header.to",
      `snapshot is for node ${header.to}, this is ${expected.selfId}`,
    );
  }
  const { meta } = header;
  if (meta.index < 1 || meta.term < 1 || meta.term > header.term) {
    throw new WireFormatError(
      "header.meta",
      `snapshot meta needs index >= 1 and 1 <= term <= ${header.term}, got index ${meta.index} term ${meta.term}`,
    );
  }
}

function statusFor(error: Error): status {
  if (error instanceof ClusterMismatchError || error instanceof WireFormatError) {
    return TRANSPORT_ERROR_STATUS[error.code];
  }
  if (
    error instanceof SnapshotChunkError ||
    error instanceof SnapshotBusyError ||
    error instanceof SnapshotRefusedError ||
    error instanceof SnapshotStagingError ||
    error instanceof SnapshotIdleError
  ) {
    return SNAPSHOT_ERROR_STATUS[error.code];
  }
  return status.INTERNAL;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function reject(call: ServerCall, error: Error): void {
  // grpc-js turns an 'error' on a server stream into the call's final status.
  call.emit("error", { code: statusFor(error), details: error.message });
}

export class SnapshotReceiver {
  private active: ReceiveSession | null = null;
  private closed = false;

  constructor(private readonly options: SnapshotReceiverOptions) {}

  /** The grpc-js handler for Raft.InstallSnapshot. */
  readonly handle = (call: ServerCall): void => {
    call.on("error", () => undefined); // our own rejections, and writes after a cancel
    const handler = this.options.handler;
    if (this.closed || handler === null) {
      const why = this.closed ? "the node is stopping" : "this node takes no snapshots";
      reject(call, new SnapshotRefusedError(`snapshot refused: ${why}`));
      return;
    }
    const active = this.active;
    const preemptMs = this.options.preemptIdleMs ?? SNAPSHOT_PREEMPT_IDLE_MS_DEFAULT;
    if (active !== null && active.silentForMs() >= preemptMs) {
      this.options.logger.warn(
        { stalled: active.describe(), silentMs: Math.round(active.silentForMs()) },
        "a new snapshot preempts a stalled one",
      );
      active.fail(
        new SnapshotRefusedError(
          `snapshot preempted: its sender was silent for ${Math.round(active.silentForMs())} ms and another transfer arrived`,
        ),
        true,
      );
      // The new transfer starts once the stalled one's staging is aborted.
      void active.finished.then(() => this.handle(call));
      return;
    }
    if (active !== null) {
      const busy = new SnapshotBusyError(
        `node ${this.options.selfId} is already receiving ${active.describe()}; ` +
          "one snapshot at a time: retry after it ends",
      );
      this.options.logger.warn({ reason: busy.message }, "refused a concurrent snapshot");
      reject(call, busy);
      return;
    }
    const session = new ReceiveSession(call, this.options, handler, () => {
      if (this.active === session) this.active = null;
    });
    this.active = session;
    session.start();
  };

  /** Refuses new transfers, fails the active one and waits until its staging is aborted. */
  async close(): Promise<void> {
    this.closed = true;
    const active = this.active;
    if (active === null) return;
    active.fail(
      new SnapshotRefusedError("snapshot transfer cut short: the node is stopping"),
      true,
    );
    await active.finished;
  }
}

/** One transfer: the chunk checks, the handler calls in order, and cleanup on any failure. */
class ReceiveSession {
  readonly finished: Promise<void>;
  private expectedSeq = 0;
  private header: SnapshotHeader | null = null;
  private begun = false;
  private settled = false;
  private readonly hash = createHash("sha256");
  private rows = 0;
  private rowsChunks = 0;
  private bytes = 0;
  /** Every step runs after the previous one: chunks, end, abort. */
  private work: Promise<void> = Promise.resolve();
  private idleTimer: NodeJS.Timeout | null = null;
  /** When the session began waiting for the sender's next chunk; null while working. */
  private waitingSinceMs: number | null = null;
  private resolveFinished: () => void = () => undefined;

  constructor(
    private readonly call: ServerCall,
    private readonly options: SnapshotReceiverOptions,
    private readonly handler: SnapshotHandler,
    private readonly onFinished: () => void,
  ) {
    this.finished = new Promise((resolve) => {
      this.resolveFinished = resolve;
    });
  }

  start(): void {
    this.call.on("data", (bytes: Uint8Array) => {
      // Read nothing more until this chunk is staged: backpressure to the sender.
      this.call.pause();
      this.run(() => this.onChunk(bytes));
    });
    this.call.on("end", () => this.run(() => this.onEnd()));
    this.call.on("cancelled", () =>
      this.fail(new Error("the sender cancelled the transfer"), false),
    );
    this.armIdle();
  }

  /** How long the sender has kept this session waiting (0 while a chunk is being staged). */
  silentForMs(): number {
    return this.waitingSinceMs === null ? 0 : performance.now() - this.waitingSinceMs;
  }

  describe(): string {
    const h = this.header;
    return h === null
      ? "a snapshot (header not yet read)"
      : `snapshot ${h.transferId} from node ${h.from}`;
  }

  /** Ends the transfer with `error` (answered to the sender if `reply`) and aborts staging. */
  fail(error: Error, reply: boolean): void {
    if (this.settled) return;
    this.settled = true;
    this.disarmIdle();
    this.options.logger.warn(
      { transfer: this.header?.transferId, from: this.header?.from, reason: error.message },
      "snapshot transfer failed",
    );
    if (reply) reject(this.call, error);
    // Chained, so abort runs after any begin()/stage() still in flight.
    this.work = this.work
      .then(async () => {
        if (!this.begun || this.header === null) return;
        try {
          await this.handler.abort(this.header, error);
        } catch (abortError) {
          this.options.logger.warn(
            { transfer: this.header.transferId, reason: messageOf(abortError) },
            "aborting snapshot staging failed",
          );
        }
      })
      .finally(() => this.finish());
  }

  private run(step: () => Promise<void>): void {
    this.work = this.work.then(async () => {
      if (this.settled) return;
      this.disarmIdle();
      try {
        await step();
      } catch (error) {
        this.fail(error instanceof Error ? error : new Error(String(error)), true);
        return;
      }
      if (this.settled) return;
      this.armIdle();
      this.call.resume();
    });
  }

  private async onChunk(bytes: Uint8Array): Promise<void> {
    const chunk = decodeChunk(bytes, this.expectedSeq);
    this.expectedSeq += 1;
    if ((chunk.kind === "header") !== (chunk.seq === 0)) {
      throw new SnapshotChunkError(
        chunk.seq,
        `a ${chunk.kind} chunk; chunk 0 and only 0 is the header`,
      );
    }
    switch (chunk.kind) {
      case "header":
        return this.onHeader(chunk.header);
      case "rows":
        return this.onRows(chunk);
      case "trailer":
        return this.onTrailer(chunk);
      default:
        return assertNever(chunk, "snapshot chunk");
    }
  }

  private async onHeader(header: SnapshotHeader): Promise<void> {
    validateSnapshotHeader(header, this.options);
    if (this.options.faults.inbound(header.from).drop) {
      throw new SnapshotRefusedError(
        `snapshot refused: the link from node ${header.from} is cut by a fault rule`,
      );
    }
    this.header = header;
    this.options.logger.info(
      {
        transfer: header.transferId,
        from: header.from,
        index: header.meta.index,
        term: header.meta.term,
      },
      "receiving snapshot",
    );
    try {
      await this.handler.begin(header);
    } catch (error) {
      throw new SnapshotRefusedError(
        `snapshot refused by node ${this.options.selfId}: ${messageOf(error)}`,
        {
          cause: error,
        },
      );
    }
    this.begun = true;
    this.ack(0);
  }

  private async onRows(chunk: Extract<SnapshotChunk, { kind: "rows" }>): Promise<void> {
    const header = this.header!;
    const computed = crcOf(chunk.data);
    if (computed !== chunk.crc32) {
      throw new SnapshotChunkError(
        chunk.seq,
        `CRC mismatch (sent 0x${hex32(chunk.crc32)}, computed 0x${hex32(computed)}): the chunk was damaged in transit`,
      );
    }
    const rows = unpackRows(chunk.data, chunk.rowCount, chunk.seq);
    this.hash.update(chunk.data);
    try {
      await this.handler.stage(header, rows);
    } catch (error) {
      throw new SnapshotStagingError(
        `staging snapshot chunk ${chunk.seq} failed: ${messageOf(error)}`,
        {
          cause: error,
        },
      );
    }
    this.rows += rows.length;
    this.rowsChunks += 1;
    this.bytes += chunk.data.byteLength;
    this.ack(chunk.seq);
  }

  private async onTrailer(chunk: Extract<SnapshotChunk, { kind: "trailer" }>): Promise<void> {
    const header = this.header!;
    if (chunk.rowCount !== this.rows || chunk.rowsChunkCount !== this.rowsChunks) {
      throw new SnapshotChunkError(
        chunk.seq,
        `trailer says ${chunk.rowCount} rows in ${chunk.rowsChunkCount} chunks, ` +
          `received ${this.rows} in ${this.rowsChunks}`,
      );
    }
    const digest = this.hash.digest();
    if (!digest.equals(chunk.sha256)) {
      throw new SnapshotChunkError(chunk.seq, "SHA-256 over all rows does not match the trailer's");
    }
    const totals: SnapshotTotals = {
      rows: this.rows,
      rowsChunks: this.rowsChunks,
      bytes: this.bytes,
    };
    try {
      await this.handler.complete(header, totals);
    } catch (error) {
      throw new SnapshotStagingError(
        `taking snapshot ${header.transferId} over failed: ${messageOf(error)}`,
        {
          cause: error,
        },
      );
    }
    this.settled = true;
    this.disarmIdle();
    this.call.write(encodeSnapshotAck({ seq: chunk.seq, done: true, rowsStaged: this.rows }));
    this.call.end();
    this.options.logger.info(
      { transfer: header.transferId, from: header.from, rows: this.rows, bytes: this.bytes },
      "snapshot received",
    );
    this.finish();
  }

  private async onEnd(): Promise<void> {
    throw new SnapshotChunkError(
      this.expectedSeq,
      "the sender ended the stream before the trailer",
    );
  }

  private ack(seq: number): void {
    this.call.write(encodeSnapshotAck({ seq, done: false, rowsStaged: this.rows }));
  }

  private armIdle(): void {
    this.waitingSinceMs = performance.now();
    const idleMs = this.options.idleTimeoutMs ?? SNAPSHOT_IDLE_TIMEOUT_MS_DEFAULT;
    this.idleTimer = setTimeout(() => this.fail(new SnapshotIdleError(idleMs), true), idleMs);
    this.idleTimer.unref();
  }

  private disarmIdle(): void {
    this.waitingSinceMs = null;
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  private finish(): void {
    this.onFinished();
    this.resolveFinished();
  }
}

function hex32(value: number): string {
  return value.toString(16).padStart(8, "0");
}
