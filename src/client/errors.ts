// Typed failures the client library throws. A server's answer keeps its gRPC
// status code and message (etcd's exact strings, or cairn.v1's "field must be
// …, got …") and gains where and how often it was tried; local conditions
// (aborted, lease lost) get their own classes so callers can tell them apart.
import { status as GrpcStatus } from "@grpc/grpc-js";

export { GrpcStatus };

/** The shape of a grpc-js failure: a status code and the server's message. */
export interface StatusLike {
  readonly code: number;
  readonly details: string;
}

export function isStatusLike(error: unknown): error is StatusLike {
  return (
    typeof error === "object" &&
    error !== null &&
    typeof (error as { code?: unknown }).code === "number" &&
    typeof (error as { details?: unknown }).details === "string"
  );
}

export function statusName(code: number): string {
  return (GrpcStatus as unknown as Record<number, string | undefined>)[code] ?? `STATUS_${code}`;
}

export interface RpcErrorContext {
  readonly method: string;
  readonly endpoint: string;
  readonly attempts: number;
  /** Some attempt of a write failed after it may have reached a server. */
  readonly outcomeUnknown: boolean;
}

/**
 * A call that failed with a gRPC status. `details` is the server's message;
 * `outcomeUnknown` is true when a write may have been applied even though the
 * call failed (its answer was lost), so the caller must read before retrying.
 */
export class CairnRpcError extends Error implements StatusLike {
  override readonly name = "CairnRpcError";
  readonly codeName: string;
  readonly method: string;
  readonly endpoint: string;
  readonly attempts: number;
  readonly outcomeUnknown: boolean;

  constructor(
    readonly code: number,
    readonly details: string,
    context: RpcErrorContext,
    options?: ErrorOptions,
  ) {
    super(`${statusName(code)}: ${details}`, options);
    this.codeName = statusName(code);
    this.method = context.method;
    this.endpoint = context.endpoint;
    this.attempts = context.attempts;
    this.outcomeUnknown = context.outcomeUnknown;
  }
}

/** The caller's AbortSignal fired; carries the signal's reason as `cause`. */
export class CairnAbortError extends Error {
  override readonly name = "AbortError";
  constructor(reason?: unknown) {
    super(
      reason instanceof Error ? `aborted: ${reason.message}` : "the operation was aborted",
      reason === undefined ? undefined : { cause: reason },
    );
  }
}

/** A lease the client kept alive could not be renewed before its TTL ran out, or was revoked. */
export class LeaseLostError extends Error {
  override readonly name = "LeaseLostError";
  constructor(
    readonly leaseId: number,
    why: string,
  ) {
    super(`lease ${leaseId} lost: ${why}`);
  }
}

export interface MemberRef {
  readonly id: number;
  readonly name: string;
}

function listMembers(members: readonly MemberRef[]): string {
  return members.map((m) => `${m.name} (${m.id.toString(16)})`).join(", ");
}

/** A member named by the caller (by name or hex id) that the cluster does not have. */
export class UnknownMemberError extends Error {
  override readonly name = "UnknownMemberError";
  constructor(
    readonly target: string,
    readonly members: readonly MemberRef[],
  ) {
    super(`no member is named or has the id "${target}"; members: ${listMembers(members)}`);
  }
}

/** No endpoint the client knows is the cluster's leader (an election, or the leader is not listed). */
export class LeaderNotFoundError extends Error {
  override readonly name = "LeaderNotFoundError";
  constructor(
    readonly endpoints: readonly string[],
    readonly reportedLeader: string | null,
  ) {
    super(
      reportedLeader === null
        ? `no member among ${endpoints.join(", ")} knows a leader (an election may be under way)`
        : `the leader is ${reportedLeader}, which is not among the endpoints ${endpoints.join(", ")}`,
    );
  }
}

/** Turns whatever an attempt threw into a CairnRpcError (non-gRPC errors pass through). */
export function toRpcError(error: unknown, context: RpcErrorContext): unknown {
  if (error instanceof CairnRpcError || !isStatusLike(error)) return error;
  return new CairnRpcError(error.code, error.details, context, { cause: error });
}

export function isUnauthenticated(error: unknown): boolean {
  return isStatusLike(error) && error.code === GrpcStatus.UNAUTHENTICATED;
}

/** Rejects with CairnAbortError once `signal` is aborted (or at once if it already is). */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new CairnAbortError(signal.reason);
}
