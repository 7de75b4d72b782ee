// Maintenance.Snapshot from the client side (`cairn snapshot save`): streams
// one member's snapshot into a sink, chunk by chunk, pausing the stream while
// the sink writes so memory stays bounded whatever the snapshot's size.
// Any member can answer, leader or not, and no leader is required: saving a
// snapshot is what an operator does when the cluster has lost its quorum.
// If a member fails mid-stream the next endpoint is tried from the start
// (the sink is reset), each endpoint once.
import {
  CairnAbortError,
  GrpcStatus,
  type StatusLike,
  throwIfAborted,
  toRpcError,
} from "./errors.js";
import type { Invoker } from "./invoker.js";
import { MAINTENANCE_SNAPSHOT } from "./methods.js";
import { classifyFailure, isRetryable } from "./retry-policy.js";

/** Where the snapshot's bytes go; writes are awaited one at a time, in order. */
export interface SnapshotSink {
  /** A new attempt starts over: drop whatever an earlier attempt wrote. */
  reset(): Promise<void>;
  write(chunk: Uint8Array): Promise<void>;
}

export interface SnapshotOptions {
  /** Longest wait for the next chunk, in ms (the whole transfer has no deadline). */
  readonly idleTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface SnapshotSaved {
  /** The member that served the snapshot. */
  readonly endpoint: string;
  readonly bytes: number;
  /** header.revision of the stream: the store revision when the member took the snapshot. */
  readonly revision: number;
}

export async function streamSnapshot(
  invoker: Invoker,
  sink: SnapshotSink,
  options: SnapshotOptions = {},
): Promise<SnapshotSaved> {
  const idleTimeoutMs = options.idleTimeoutMs ?? invoker.attemptTimeoutMs;
  let lastError: unknown = null;
  // Fixed before the loop: reportFailure() below moves the preferred endpoint.
  const first = invoker.preferredEndpoint;
  for (let attempt = 0; attempt < invoker.endpointCount; attempt++) {
    throwIfAborted(options.signal);
    const endpoint = (first + attempt) % invoker.endpointCount;
    if (attempt > 0) await sink.reset();
    try {
      return await streamFrom(invoker, endpoint, sink, idleTimeoutMs, options.signal);
    } catch (error) {
      if (options.signal?.aborted === true) throw new CairnAbortError(options.signal.reason);
      const context = {
        method: MAINTENANCE_SNAPSHOT.path,
        endpoint: invoker.transport.endpoints[endpoint] ?? "?",
        attempts: attempt + 1,
        outcomeUnknown: false,
      };
      lastError = toRpcError(error, context);
      if (!isRetryable("read", classifyFailure(error))) throw lastError;
      invoker.reportFailure(endpoint);
    }
  }
  throw lastError;
}

/** One attempt against one member. */
function streamFrom(
  invoker: Invoker,
  endpoint: number,
  sink: SnapshotSink,
  idleTimeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<SnapshotSaved> {
  return new Promise<SnapshotSaved>((resolve, reject) => {
    let bytes = 0;
    let revision = 0;
    let settled = false;
    let writes: Promise<void> = Promise.resolve();
    let idleTimer: NodeJS.Timeout | null = null;
    const settle = (error: unknown, saved?: SnapshotSaved): void => {
      if (settled) return;
      settled = true;
      if (idleTimer !== null) clearTimeout(idleTimer);
      signal?.removeEventListener("abort", onAbort);
      if (error === null && saved !== undefined) resolve(saved);
      else {
        call.cancel();
        reject(error);
      }
    };
    const armIdle = (): void => {
      if (idleTimer !== null) clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        const stalled: StatusLike = {
          code: GrpcStatus.DEADLINE_EXCEEDED,
          details: `no snapshot data from the member for ${idleTimeoutMs} ms`,
        };
        settle(stalled);
      }, idleTimeoutMs);
    };
    const onAbort = (): void => settle(new CairnAbortError(signal?.reason));
    const call = invoker.transport.serverStream(
      endpoint,
      MAINTENANCE_SNAPSHOT,
      {},
      invoker.metadata(false),
      {
        onMessage: (message) => {
          revision = Number(message.header?.revision ?? 0);
          const blob = message.blob;
          if (blob.byteLength === 0) return;
          // Stop reading (and the idle clock) while the sink writes.
          call.pause();
          if (idleTimer !== null) clearTimeout(idleTimer);
          writes = writes
            .then(() => sink.write(blob))
            .then(() => {
              bytes += blob.byteLength;
              if (settled) return;
              armIdle();
              call.resume();
            });
          writes.catch((error: unknown) => settle(error));
        },
        onError: (error) => settle(error),
        onEnd: () => {
          writes.then(
            () =>
              settle(null, {
                endpoint: invoker.transport.endpoints[endpoint] ?? "?",
                bytes,
                revision,
              }),
            (error: unknown) => settle(error),
          );
        },
      },
    );
    signal?.addEventListener("abort", onAbort, { once: true });
    armIdle();
  });
}
