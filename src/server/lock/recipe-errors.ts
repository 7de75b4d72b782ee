// Errors of etcd's server-side Lock and Election services, and the call
// adapter they share. etcd returns these recipe errors as plain Go errors, so
// gRPC carries them with status UNKNOWN and the bare message; the server's
// registry errors (errors.ts) keep their message and, like etcd's, arrive as
// UNKNOWN too unless they ask the client to retry.
import {
  status as GrpcStatus,
  type handleUnaryCall,
  Metadata,
  type ServerUnaryCall,
  type ServiceError,
} from "@grpc/grpc-js";
import { toServiceError } from "../errors.js";

export const RECIPE_ERRORS = {
  /** etcd 3.5+ concurrency.ErrSessionExpired: the waiter's key vanished while it waited. */
  SESSION_EXPIRED: { status: GrpcStatus.UNKNOWN, message: "mutex: session is expired" },
  ELECTION_NO_LEADER: { status: GrpcStatus.UNKNOWN, message: "election: no leader" },
  ELECTION_NOT_LEADER: { status: GrpcStatus.UNKNOWN, message: "election: not leader" },
  /** cairn only: etcd's Campaign does not re-check its key after waiting. */
  ELECTION_SESSION_EXPIRED: { status: GrpcStatus.UNKNOWN, message: "election: session is expired" },
  MISSING_LEADER_KEY: { status: GrpcStatus.UNKNOWN, message: '"leader" field must be provided' },
  CANCELLED: { status: GrpcStatus.CANCELLED, message: "context canceled" },
  DEADLINE_EXCEEDED: { status: GrpcStatus.DEADLINE_EXCEEDED, message: "context deadline exceeded" },
} as const;

export type RecipeErrorCode = keyof typeof RECIPE_ERRORS;

export class RecipeError extends Error {
  override readonly name = "RecipeError";
  readonly grpcStatus: GrpcStatus;

  constructor(readonly code: RecipeErrorCode) {
    super(RECIPE_ERRORS[code].message);
    this.grpcStatus = RECIPE_ERRORS[code].status;
  }
}

/** Statuses kept as they are: the client should retry, back off, or the call is over. */
const KEPT_STATUSES: ReadonlySet<GrpcStatus> = new Set([
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.RESOURCE_EXHAUSTED,
  GrpcStatus.CANCELLED,
  GrpcStatus.DEADLINE_EXCEEDED,
  GrpcStatus.INTERNAL,
]);

/**
 * etcd serves Lock and Election through an embedded client, whose errors
 * reach gRPC as plain errors: "etcdserver: requested lease not found" arrives
 * as UNKNOWN there, not NOT_FOUND. The same here, for every request error.
 */
export function toRecipeServiceError(error: unknown): Partial<ServiceError> {
  if (error instanceof RecipeError) {
    return { code: error.grpcStatus, details: error.message, metadata: new Metadata() };
  }
  const converted = toServiceError(error);
  const code = converted.code ?? GrpcStatus.UNKNOWN;
  return KEPT_STATUSES.has(code) ? converted : { ...converted, code: GrpcStatus.UNKNOWN };
}

/** setTimeout's largest delay; a later deadline is left to grpc-js alone. */
const TIMER_DELAY_MAX_MS = 2 ** 31 - 1;

function deadlineMs(call: ServerUnaryCall<unknown, unknown>): number {
  const deadline = call.getDeadline();
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

/**
 * A unary handler that may wait: its signal aborts when the client cancels
 * or the call's deadline passes, so a waiter is dropped instead of leaking.
 */
export function unaryWithSignal<Req, Res>(
  handler: (request: Req, signal: AbortSignal) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const controller = new AbortController();
    const onCancelled = (): void => controller.abort(new RecipeError("CANCELLED"));
    call.on("cancelled", onCancelled);
    const delayMs = deadlineMs(call) - Date.now();
    const timer =
      delayMs <= TIMER_DELAY_MAX_MS
        ? setTimeout(
            () => controller.abort(new RecipeError("DEADLINE_EXCEEDED")),
            Math.max(0, delayMs),
          )
        : null;
    Promise.resolve()
      .then(() => handler(call.request, controller.signal))
      .then(
        (response) => callback(null, response),
        (error: unknown) => callback(toRecipeServiceError(error)),
      )
      .finally(() => {
        if (timer !== null) clearTimeout(timer);
        call.off("cancelled", onCancelled);
      });
  };
}
