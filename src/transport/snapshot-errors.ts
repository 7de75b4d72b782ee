// Typed errors of snapshot transfers (InstallSnapshot). The receiver answers
// each with one gRPC status; the sender turns whatever status it gets into a
// SnapshotSendError, so the leader's shell sees one failure type to report
// to its Raft core (and a clear message to log).
//
// Receiver side:  SnapshotChunkError, SnapshotBusyError, SnapshotRefusedError,
//                 SnapshotStagingError, SnapshotIdleError
// Sender side:    SnapshotSendError, SnapshotAbortedError (and SnapshotBusyError
//                 for a second transfer to the same peer)

import { status } from "@grpc/grpc-js";
import type { NodeId } from "../raft/types.js";

export type SnapshotErrorCode =
  | "CAIRN_SNAPSHOT_CHUNK"
  | "CAIRN_SNAPSHOT_BUSY"
  | "CAIRN_SNAPSHOT_REFUSED"
  | "CAIRN_SNAPSHOT_STAGING"
  | "CAIRN_SNAPSHOT_IDLE"
  | "CAIRN_SNAPSHOT_SEND"
  | "CAIRN_SNAPSHOT_ABORTED";

/** The status a receiver answers with for each of its own errors. */
export const SNAPSHOT_ERROR_STATUS: Readonly<
  Record<Exclude<SnapshotErrorCode, "CAIRN_SNAPSHOT_SEND" | "CAIRN_SNAPSHOT_ABORTED">, status>
> = {
  CAIRN_SNAPSHOT_CHUNK: status.DATA_LOSS,
  CAIRN_SNAPSHOT_BUSY: status.RESOURCE_EXHAUSTED,
  CAIRN_SNAPSHOT_REFUSED: status.FAILED_PRECONDITION,
  CAIRN_SNAPSHOT_STAGING: status.INTERNAL,
  CAIRN_SNAPSHOT_IDLE: status.DEADLINE_EXCEEDED,
};

/**
 * A chunk failed a check: undecodable, out of sequence, bad CRC, malformed
 * rows, or the trailer's totals or SHA-256 disagree. `seq` names the chunk.
 */
export class SnapshotChunkError extends Error {
  override readonly name = "SnapshotChunkError";
  readonly code = "CAIRN_SNAPSHOT_CHUNK";
  constructor(
    readonly seq: number,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`snapshot chunk ${seq}: ${reason}`, options);
  }
}

/** One snapshot transfer at a time per receiver, and per peer on the sender. */
export class SnapshotBusyError extends Error {
  override readonly name = "SnapshotBusyError";
  readonly code = "CAIRN_SNAPSHOT_BUSY";
}

/** The node will not take this snapshot (no handler, stopping, partitioned, or the handler said no). */
export class SnapshotRefusedError extends Error {
  override readonly name = "SnapshotRefusedError";
  readonly code = "CAIRN_SNAPSHOT_REFUSED";
}

/** The receiver's handler failed to stage rows or to take the finished snapshot over. */
export class SnapshotStagingError extends Error {
  override readonly name = "SnapshotStagingError";
  readonly code = "CAIRN_SNAPSHOT_STAGING";
}

/** The sender went quiet mid-transfer for longer than the receiver waits. */
export class SnapshotIdleError extends Error {
  override readonly name = "SnapshotIdleError";
  readonly code = "CAIRN_SNAPSHOT_IDLE";
  constructor(readonly idleMs: number) {
    super(`snapshot sender sent nothing for ${idleMs} ms`);
  }
}

/**
 * Sender side: the transfer to `peer` did not complete. `status` is the gRPC
 * status the call ended with (the receiver's answer, or the channel's, e.g.
 * UNAVAILABLE when the peer is down); `details` its message.
 */
export class SnapshotSendError extends Error {
  override readonly name = "SnapshotSendError";
  readonly code = "CAIRN_SNAPSHOT_SEND";
  constructor(
    readonly peer: NodeId,
    readonly status: status,
    readonly details: string,
    options?: ErrorOptions,
  ) {
    super(`snapshot to node ${peer} failed (${status} ${statusName(status)}): ${details}`, options);
  }
}

/** Sender side: the caller's AbortSignal fired; the call was cancelled. */
export class SnapshotAbortedError extends Error {
  override readonly name = "SnapshotAbortedError";
  readonly code = "CAIRN_SNAPSHOT_ABORTED";
  constructor(
    readonly peer: NodeId,
    options?: ErrorOptions,
  ) {
    super(`snapshot to node ${peer} aborted by the caller`, options);
  }
}

function statusName(code: status): string {
  return status[code] ?? "UNKNOWN";
}
