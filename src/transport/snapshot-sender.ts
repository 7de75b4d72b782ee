// The leader's half of InstallSnapshot: streams an export of its applied state
// to one follower, on a connection of its own so a large transfer never
// delays the Raft stream's heartbeats.
//
//   sendSnapshot(options): Promise<SnapshotSendResult>
//     resolves once the follower has staged every row and accepted the
//     snapshot; rejects with SnapshotSendError (the call failed or the
//     follower refused: its status and message say why) or
//     SnapshotAbortedError (options.signal fired). Nothing is resumed: to
//     retry, call again and the whole snapshot is sent anew.
//
// The export's first record is its applied index A; `metaAt(A)` supplies the
// snapshot meta (index A, term of entry A, conf state at A), which goes in
// the header, so the follower's state is exactly "after entry A". Rows are
// packed into ~1 MiB chunks, each with a CRC32; the trailer carries the row
// count and a SHA-256 of every chunk. Memory stays bounded: the sender reads
// the export only as fast as chunks leave, with at most chunksInFlightMax
// chunks not yet acknowledged (staged) by the follower, and it also waits for
// gRPC's 'drain' whenever a write reports a full buffer.

import { createHash, randomInt } from "node:crypto";
import type { ChannelCredentials, ClientDuplexStream, StatusObject } from "@grpc/grpc-js";
import { Client, status } from "@grpc/grpc-js";
import type { LogIndex, NodeId, SnapshotMeta, Term } from "../raft/types.js";
import { assert } from "../util/assert.js";
import { openBidiStream } from "./grpc-codec.js";
import { PEER_CHANNEL_OPTIONS, RAFT_INSTALL_SNAPSHOT_METHOD } from "./raft-service.js";
import {
  crcOf,
  decodeSnapshotAck,
  encodeChunk,
  RowPacker,
  type SnapshotAck,
  type SnapshotChunk,
  type SnapshotHeader,
} from "./snapshot-codec.js";
import { SnapshotAbortedError, SnapshotSendError } from "./snapshot-errors.js";

export const SNAPSHOT_CHUNK_BYTES_TARGET = 1024 * 1024;
/** Chunks sent but not yet staged by the follower; bounds both sides' buffers. */
export const SNAPSHOT_CHUNKS_IN_FLIGHT_MAX = 4;
/** Transfer ids are random: they only tell transfers apart in logs and staging. */
const TRANSFER_ID_MAX = 2 ** 47;

/** What DiskStore.exportState yields (structurally): the applied index once, first, then rows. */
export type SnapshotSourceRecord =
  | { readonly kind: "applied"; readonly appliedIndex: LogIndex }
  | {
      readonly kind: "row";
      readonly table: string;
      readonly key: Uint8Array;
      readonly value: Uint8Array;
    };

export interface OutboundSnapshot {
  /** The sender's current term (the MsgSnap's term). */
  readonly term: Term;
  /** DiskStore.exportState(StateMachine.tables); closed (return()) when the send ends. */
  readonly records: AsyncIterable<SnapshotSourceRecord>;
  /** Meta of the state after entry `appliedIndex`; its index must be appliedIndex. */
  readonly metaAt: (appliedIndex: LogIndex) => SnapshotMeta;
}

export interface SnapshotSendTestHooks {
  /** Sees each rows chunk's payload after its CRC and hash are taken: flip a byte to test detection. */
  readonly corruptRows?: (seq: number, data: Uint8Array) => void;
  /** Told after each chunk is handed to gRPC. */
  readonly onChunkSent?: (seq: number) => void;
}

export interface SendSnapshotOptions {
  readonly selfId: NodeId;
  readonly clusterId: number;
  readonly peerId: NodeId;
  /** The peer's "host:port" (its peer port). */
  readonly address: string;
  readonly credentials: ChannelCredentials;
  readonly snapshot: OutboundSnapshot;
  readonly signal?: AbortSignal;
  readonly transferId?: number;
  readonly chunkBytesTarget?: number;
  readonly chunksInFlightMax?: number;
  readonly testHooks?: SnapshotSendTestHooks;
}

export interface SnapshotSendResult {
  readonly transferId: number;
  readonly meta: SnapshotMeta;
  readonly rows: number;
  readonly rowsChunks: number;
  /** Packed row bytes sent (without chunk framing). */
  readonly bytes: number;
}

type Call = ClientDuplexStream<Uint8Array, Uint8Array>;

/** Flow control and outcome of one InstallSnapshot call; the send loop is its only waiter. */
class SnapshotCall {
  private ackedSeq = -1;
  private sentSeq = -1;
  private backpressured = false;
  private doneAck: SnapshotAck | null = null;
  private endedOk = false;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly call: Call,
    private readonly peer: NodeId,
    private readonly window: number,
  ) {
    call.on("data", (bytes: Uint8Array) => this.onAck(bytes));
    call.on("drain", () => {
      this.backpressured = false;
      this.notify();
    });
    // 'status' always follows 'error' and carries the outcome.
    call.on("error", () => undefined);
    call.on("status", (s: StatusObject) => this.onStatus(s));
  }

  /** Writes once the window has room and gRPC's buffer has drained. */
  async write(seq: number, bytes: Uint8Array): Promise<void> {
    await this.until(() => !this.backpressured && seq - this.ackedSeq <= this.window);
    this.sentSeq = seq;
    if (!this.call.write(bytes)) this.backpressured = true;
  }

  /** Half-closes and waits for the receiver's verdict. */
  async finish(): Promise<SnapshotAck> {
    this.call.end();
    await this.until(() => this.endedOk);
    assert(this.doneAck !== null, "an OK end follows the done ack");
    return this.doneAck;
  }

  fail(error: Error): void {
    this.failure ??= error;
    this.notify();
  }

  cancel(): void {
    this.call.cancel();
  }

  private async until(ready: () => boolean): Promise<void> {
    for (;;) {
      if (this.failure !== null) throw this.failure;
      if (ready()) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private onAck(bytes: Uint8Array): void {
    let ack: SnapshotAck;
    try {
      ack = decodeSnapshotAck(bytes);
    } catch (error) {
      this.protocolError(`undecodable ack: ${String(error)}`);
      return;
    }
    if (ack.seq < this.ackedSeq || ack.seq > this.sentSeq) {
      this.protocolError(`ack for chunk ${ack.seq}; acked ${this.ackedSeq}, sent ${this.sentSeq}`);
      return;
    }
    this.ackedSeq = ack.seq;
    if (ack.done) this.doneAck = ack;
    this.notify();
  }

  private onStatus(s: StatusObject): void {
    if (s.code !== status.OK) {
      this.fail(new SnapshotSendError(this.peer, s.code, s.details));
    } else if (this.doneAck === null) {
      this.fail(
        new SnapshotSendError(this.peer, status.INTERNAL, "receiver ended without accepting"),
      );
    } else {
      this.endedOk = true;
      this.notify();
    }
  }

  private protocolError(details: string): void {
    this.fail(new SnapshotSendError(this.peer, status.INTERNAL, details));
    this.call.cancel();
  }
}

export async function sendSnapshot(options: SendSnapshotOptions): Promise<SnapshotSendResult> {
  const { peerId, signal } = options;
  const aborted = (): SnapshotAbortedError =>
    new SnapshotAbortedError(peerId, { cause: signal?.reason });
  if (signal?.aborted) throw aborted();
  const iterator = options.snapshot.records[Symbol.asyncIterator]();
  const client = new Client(options.address, options.credentials, PEER_CHANNEL_OPTIONS);
  let call: SnapshotCall | null = null;
  const onAbort = (): void => {
    call?.fail(aborted());
    call?.cancel();
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const header = await readHeader(iterator, options);
    if (signal?.aborted) throw aborted();
    const window = options.chunksInFlightMax ?? SNAPSHOT_CHUNKS_IN_FLIGHT_MAX;
    assert(window >= 1, "chunksInFlightMax must be at least 1");
    call = new SnapshotCall(openBidiStream(client, RAFT_INSTALL_SNAPSHOT_METHOD), peerId, window);
    return await streamRows(call, header, iterator, options, () => {
      if (signal?.aborted) throw aborted();
    });
  } catch (error) {
    call?.cancel();
    throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    try {
      await iterator.return?.(); // releases the export's LevelDB snapshot
    } catch {
      // A failure to close the export adds nothing to the outcome of the send.
    }
    client.close();
  }
}

async function readHeader(
  iterator: AsyncIterator<SnapshotSourceRecord>,
  options: SendSnapshotOptions,
): Promise<SnapshotHeader> {
  const first = await iterator.next();
  assert(
    first.done !== true && first.value.kind === "applied",
    "a state export starts with its applied index",
  );
  const appliedIndex = first.value.appliedIndex;
  const meta = options.snapshot.metaAt(appliedIndex);
  assert(
    meta.index === appliedIndex,
    `snapshot meta index ${meta.index} must be the exported applied index ${appliedIndex}`,
  );
  assert(meta.term >= 1 && meta.term <= options.snapshot.term, `bad snapshot term ${meta.term}`);
  return {
    clusterId: options.clusterId,
    from: options.selfId,
    to: options.peerId,
    term: options.snapshot.term,
    transferId: options.transferId ?? randomInt(1, TRANSFER_ID_MAX),
    meta,
  };
}

async function streamRows(
  call: SnapshotCall,
  header: SnapshotHeader,
  iterator: AsyncIterator<SnapshotSourceRecord>,
  options: SendSnapshotOptions,
  checkAborted: () => void,
): Promise<SnapshotSendResult> {
  const hooks = options.testHooks;
  const send = async (chunk: SnapshotChunk): Promise<void> => {
    await call.write(chunk.seq, encodeChunk(chunk));
    hooks?.onChunkSent?.(chunk.seq);
  };
  await send({ kind: "header", seq: 0, header });
  const hash = createHash("sha256");
  const packer = new RowPacker(options.chunkBytesTarget ?? SNAPSHOT_CHUNK_BYTES_TARGET);
  let seq = 0;
  let rows = 0;
  let bytes = 0;
  const flush = async (): Promise<void> => {
    const { data, rowCount } = packer.take();
    seq += 1;
    rows += rowCount;
    bytes += data.byteLength;
    hash.update(data);
    const crc32 = crcOf(data);
    hooks?.corruptRows?.(seq, data);
    await send({ kind: "rows", seq, data, rowCount, crc32 });
  };
  for (;;) {
    const next = await iterator.next();
    checkAborted();
    if (next.done === true) break;
    const record = next.value;
    assert(record.kind === "row", "a state export has one applied index, first");
    packer.add(record);
    if (packer.full) await flush();
  }
  if (!packer.empty) await flush();
  const rowsChunks = seq;
  seq += 1;
  await send({
    kind: "trailer",
    seq,
    rowCount: rows,
    rowsChunkCount: rowsChunks,
    sha256: hash.digest(),
  });
  const done = await call.finish();
  if (done.rowsStaged !== rows) {
    throw new SnapshotSendError(
      options.peerId,
      status.INTERNAL,
      `receiver staged ${done.rowsStaged} rows, ${rows} were sent`,
    );
  }
  return { transferId: header.transferId, meta: header.meta, rows, rowsChunks, bytes };
}
