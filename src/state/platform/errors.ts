// Typed failures of platform commands, decided at apply and identical on every
// member. Each code maps to one gRPC status in the handler layer; the message
// is for a person and names the field, the value and what is allowed.
// A distinct result kind ("platform-error") keeps these apart from the etcd
// errors, whose codes the KV handlers map exhaustively.

/**
 * invalid-argument → INVALID_ARGUMENT, not-found → NOT_FOUND, already-exists →
 * ALREADY_EXISTS, failed-precondition → FAILED_PRECONDITION (illegal lifecycle
 * transition, last admin, full queue, expired page token), aborted → ABORTED
 * (version or fence conflict: re-read and retry), permission-denied →
 * PERMISSION_DENIED.
 */
export type PlatformErrorCode =
  | "invalid-argument"
  | "not-found"
  | "already-exists"
  | "failed-precondition"
  | "aborted"
  | "permission-denied";

export interface PlatformError {
  readonly kind: "platform-error";
  readonly code: PlatformErrorCode;
  readonly message: string;
}

function error(code: PlatformErrorCode, message: string): PlatformError {
  return { kind: "platform-error", code, message };
}

export const invalidArgument = (message: string): PlatformError =>
  error("invalid-argument", message);
export const notFound = (message: string): PlatformError => error("not-found", message);
export const alreadyExists = (message: string): PlatformError => error("already-exists", message);
export const failedPrecondition = (message: string): PlatformError =>
  error("failed-precondition", message);
export const aborted = (message: string): PlatformError => error("aborted", message);
export const permissionDenied = (message: string): PlatformError =>
  error("permission-denied", message);

export function isPlatformError(value: unknown): value is PlatformError {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { kind?: unknown }).kind === "platform-error"
  );
}
