// The operation record every jepsen-lite workload emits, one per event.
//
// Public API:
//   type OpType = "invoke" | "ok" | "fail" | "info"
//   interface Op { process, type, f, key?, value?, time, index, node?, error? }
//   type History = readonly Op[]
//   class HistoryError extends Error { index }
//   interface OpCounts { ok, fail, info }
//
// An invocation is followed, on the same process, by exactly one completion:
//   ok   — the op took effect and `value` is its result;
//   fail — the op definitely did not take effect;
//   info — indeterminate (timeout, connection error): it may or may not have
//          taken effect, now or later. The process is then considered crashed
//          and never issues another op; the worker continues under a new id.

export type OpType = "invoke" | "ok" | "fail" | "info";

export interface Op {
  /** Logical client process; unique for the life of one sequential client. */
  readonly process: number;
  readonly type: OpType;
  /** The operation's name, e.g. "read", "write", "cas", "acquire". */
  readonly f: string;
  readonly key?: string;
  /** On invoke: the input; on ok: the output (e.g. the value read). */
  readonly value?: unknown;
  /** Milliseconds since the run started, from a monotonic clock. */
  readonly time: number;
  /** Position in the history, 0-based and dense. */
  readonly index: number;
  /** The member that served it, when known. */
  readonly node?: string;
  /** Why an op failed or is indeterminate, e.g. the gRPC error. */
  readonly error?: string;
}

export type History = readonly Op[];

export interface OpCounts {
  ok: number;
  fail: number;
  info: number;
}

/** A malformed history: a harness bug, reported with the offending record. */
export class HistoryError extends Error {
  override readonly name = "HistoryError";
  constructor(
    readonly index: number,
    message: string,
  ) {
    super(`history record ${index}: ${message}`);
  }
}
