// How the platform state machine's typed refusals reach a client: each
// `platform-error` code maps to exactly one registry entry (errors.ts), hence
// one gRPC status, and the state machine's message passes through unchanged
// (it already names the field, the value and what is allowed).
import type { ApplyResult, PlatformError, PlatformErrorCode } from "../../state/index.js";
import { assertNever } from "../../util/assert.js";
import { CairnError, type ErrorCode } from "../errors.js";
import { throwApplyError } from "../kv-handlers.js";

/** The registry code (and so the gRPC status) of each platform error code. */
export function registryCode(code: PlatformErrorCode): ErrorCode {
  switch (code) {
    case "invalid-argument":
      return "INVALID_ARGUMENT";
    case "not-found":
      return "NOT_FOUND";
    case "already-exists":
      return "ALREADY_EXISTS";
    case "failed-precondition":
      return "FAILED_PRECONDITION";
    case "aborted":
      return "ABORTED";
    case "permission-denied":
      return "ACCESS_DENIED";
    default:
      return assertNever(code, "platform error code");
  }
}

export function platformError(error: PlatformError): CairnError {
  return new CairnError(registryCode(error.code), error.message);
}

/** Throws the status for a refusal: a platform error, or an etcd apply error (a lease the command named). */
export function throwRefusal(result: ApplyResult): never {
  if (result.kind === "platform-error") throw platformError(result);
  return throwApplyError(result);
}

/**
 * The result of a proposed platform command when it has the expected kind;
 * any other result is a refusal and is thrown as its status.
 */
export function expectResult<K extends ApplyResult["kind"]>(
  result: ApplyResult,
  kind: K,
): Extract<ApplyResult, { kind: K }> {
  if (result.kind === kind) return result as Extract<ApplyResult, { kind: K }>;
  return throwRefusal(result);
}

/** Unwraps a read helper's answer (value or platform error). */
export function orThrow<T extends object>(value: T | PlatformError): T {
  if ((value as { kind?: unknown }).kind === "platform-error") {
    throw platformError(value as PlatformError);
  }
  return value as T;
}

/** A handler's own pre-check failure, with the same wording apply would use. */
export function invalid(message: string): CairnError {
  return new CairnError("INVALID_ARGUMENT", message);
}
