// Which failed attempts may be retried on another endpoint, and how long to
// wait first. Pure: a function of the error, the call's safety class and the
// attempt number (randomness injected), so the rules are unit-tested alone.
//
// The rule is clientv3's (reference/etcd-v3.md §1.3), made explicit:
//   read, idempotent  retry on any "member unavailable" outcome;
//   write             retry only when the request provably never reached a
//                     server (no connection, stream refused) or the server
//                     refused it before proposing it ("etcdserver: no leader").
// A write whose answer was lost ("Connection dropped", "request timed out",
// "leader changed", a deadline) may still commit: it is never retried.
import { GrpcStatus, isStatusLike } from "./errors.js";

/**
 * read        has no effect;
 * idempotent  applying it twice equals applying it once (it names its own
 *             lease/member/lock, or carries an id the server deduplicates);
 * write       anything else.
 */
export type CallSafety = "read" | "idempotent" | "write";

/**
 * not-sent     the request never left this client (no connection);
 * not-applied  a server answered that it did not propose it;
 * ambiguous    it may or may not have been applied;
 * final        the server's considered answer: retrying cannot change it.
 */
export type FailureKind = "not-sent" | "not-applied" | "ambiguous" | "final";

/** grpc-js messages for calls that failed before any byte reached a server. */
const NOT_SENT_MARKERS = [
  "No connection established",
  "Stream refused by server",
  "Waiting for LB pick",
  "waiting for name resolution",
] as const;

/** etcd's refusals that happen before a proposal enters the Raft log. */
const NOT_APPLIED_MESSAGES = new Set(["etcdserver: no leader", "etcdserver: too many requests"]);
/**
 * cairn's refusal by a member whose disk is full (the rest names its data
 * dir): nothing was proposed, and another member may well have room.
 */
const DISK_FULL_PREFIX = "etcdserver: no space left on device";

function refusedBeforeProposing(details: string): boolean {
  return NOT_APPLIED_MESSAGES.has(details) || details.startsWith(DISK_FULL_PREFIX);
}

/**
 * grpc-js reports a connection cut under a call as INTERNAL "Received
 * RST_STREAM with code 2 triggered by internal client error: Session closed…"
 * (or a stream ended without a status): the transport failed, not the server's
 * logic, so like a dropped connection the outcome is unknown.
 */
const TRANSPORT_CUT = /RST_STREAM|Session closed|Call ended without gRPC status/;

export function classifyFailure(error: unknown): FailureKind {
  if (!isStatusLike(error)) return "final";
  const { code, details } = error;
  if (code === GrpcStatus.UNAVAILABLE || code === GrpcStatus.DEADLINE_EXCEEDED) {
    // A deadline while still waiting for a connection is "Deadline exceeded
    // after …,Waiting for LB pick"; once the call has a transport it names it.
    if (NOT_SENT_MARKERS.some((marker) => details.includes(marker))) return "not-sent";
    if (refusedBeforeProposing(details)) return "not-applied";
    return "ambiguous";
  }
  if (code === GrpcStatus.RESOURCE_EXHAUSTED && refusedBeforeProposing(details)) {
    return "not-applied";
  }
  if (code === GrpcStatus.INTERNAL && TRANSPORT_CUT.test(details)) return "ambiguous";
  // The caller's own cancellations never get here (they end the call as
  // aborted), so a CANCELLED status came from the other side or the transport.
  if (code === GrpcStatus.CANCELLED) return "ambiguous";
  return "final";
}

export function isRetryable(safety: CallSafety, kind: FailureKind): boolean {
  switch (kind) {
    case "final":
      return false;
    case "not-sent":
    case "not-applied":
      return true;
    case "ambiguous":
      return safety !== "write";
    default: {
      const unreachable: never = kind;
      throw new Error(`unknown failure kind ${String(unreachable)}`);
    }
  }
}

export interface BackoffOptions {
  readonly baseMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 25, maxMs: 1_000 };

/**
 * Wait before attempt number `attempt` (1 = the first retry). The first pass
 * over the other endpoints waits only `baseMs` (another member is probably
 * fine); each later full cycle doubles it up to `maxMs`, because then the
 * whole cluster is busy (an election) and hammering it does not help.
 * Jittered into [½, 1] of the value so clients that failed together spread out.
 */
export function backoffMs(
  attempt: number,
  endpointCount: number,
  options: BackoffOptions,
  random: () => number,
): number {
  if (!(Number.isSafeInteger(attempt) && attempt >= 1)) {
    throw new RangeError(`attempt must be a positive integer, got ${attempt}`);
  }
  const cycle = Math.floor((attempt - 1) / Math.max(1, endpointCount));
  const ceilingMs = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(cycle, 30));
  return ceilingMs * (0.5 + random() / 2);
}
