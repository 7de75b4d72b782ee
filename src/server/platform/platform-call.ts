// The grpc-js adapters of the cairn.v1 unary methods: authenticate the caller
// (or not, for Register and Login), hand the handler an AbortSignal that
// fires when the client cancels or the call's deadline passes (so waits end
// instead of leaking), and turn whatever is thrown into a gRPC status.
import type { handleUnaryCall, Metadata, ServerUnaryCall } from "@grpc/grpc-js";
import { CairnError, toServiceError } from "../errors.js";
import { requireLeaderIfAsked } from "../services.js";
import type { Authenticator, Caller, Consistency } from "./auth.js";

export interface CallContext {
  readonly caller: Caller;
  readonly signal: AbortSignal;
}

export interface OpenCallContext {
  readonly metadata: Metadata;
  readonly signal: AbortSignal;
}

export interface CallDeps {
  readonly auth: Authenticator;
  /** False while this member knows no leader (etcd's `hasleader` metadata asks to fail fast then). */
  readonly leaderKnown: () => boolean;
}

/** setTimeout's largest delay; a later deadline is left to grpc-js alone. */
const TIMER_DELAY_MAX_MS = 2 ** 31 - 1;

function deadlineMs(call: ServerUnaryCall<unknown, unknown>): number {
  const deadline = call.getDeadline();
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

/** Runs `handler` with a signal tied to the call's life; always answers exactly once. */
function withSignal<Req, Res>(
  deps: CallDeps,
  handler: (call: ServerUnaryCall<Req, Res>, signal: AbortSignal) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const controller = new AbortController();
    const onCancelled = (): void => controller.abort(new Error("call cancelled by the client"));
    call.on("cancelled", onCancelled);
    const delayMs = deadlineMs(call) - Date.now();
    const timer =
      delayMs <= TIMER_DELAY_MAX_MS
        ? setTimeout(
            () =>
              controller.abort(
                new CairnError(
                  "DEADLINE_EXCEEDED",
                  "the call's deadline passed before it finished",
                ),
              ),
            Math.max(0, delayMs),
          )
        : null;
    Promise.resolve()
      .then(() => {
        requireLeaderIfAsked(call.metadata, deps.leaderKnown);
        return handler(call, controller.signal);
      })
      .then(
        (response) => callback(null, response),
        (error: unknown) => callback(toServiceError(error)),
      )
      .finally(() => {
        if (timer !== null) clearTimeout(timer);
        call.off("cancelled", onCancelled);
      });
  };
}

/** A method that needs a signed-in caller; `consistency` picks how the token is verified. */
export function authedUnary<Req, Res>(
  deps: CallDeps,
  handler: (request: Req, context: CallContext) => Promise<Res>,
  consistency: (request: Req) => Consistency = () => "linearizable",
): handleUnaryCall<Req, Res> {
  return withSignal(deps, async (call, signal) => {
    const caller = await deps.auth.authenticate(call.metadata, consistency(call.request));
    signal.throwIfAborted();
    return handler(call.request, { caller, signal });
  });
}

/** Register and Login: open to anyone; the handler reads the metadata itself. */
export function openUnary<Req, Res>(
  deps: CallDeps,
  handler: (request: Req, context: OpenCallContext) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return withSignal(deps, (call, signal) =>
    handler(call.request, { metadata: call.metadata, signal }),
  );
}
