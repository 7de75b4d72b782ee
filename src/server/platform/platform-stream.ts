// The grpc-js adapter of the cairn.v1 server streams (the three Watch
// methods): authenticate, hand the body an AbortSignal that fires when the
// client goes away or the member stops, write with backpressure (a slow
// reader holds the stream, never a growing buffer), and end a failed stream
// with its status. A stream ends once its caller's session does (checked
// before each response). Open streams are tracked so shutdown can end them.
import type { handleServerStreamingCall, ServerWritableStream } from "@grpc/grpc-js";
import { assert } from "../../util/assert.js";
import { CairnError, toServiceError } from "../errors.js";
import { requireLeaderIfAsked } from "../services.js";
import { type Caller, INVALID_TOKEN } from "./auth.js";
import type { CallDeps } from "./platform-call.js";

/** Streams one member serves at once; past it a new Watch fails with "too many requests". */
export const PLATFORM_STREAMS_MAX = 10_000;

export interface StreamContext<Res> {
  readonly caller: Caller;
  readonly signal: AbortSignal;
  /** Sends one response; resolves once gRPC can take more (rejects when the stream ends). */
  write(response: Res): Promise<void>;
  /** Ends the stream with this error's status, even while a write waits for the reader. */
  fail(error: Error): void;
}

/** Every open platform stream, so a stopping member can end them (clients then move on). */
export class PlatformStreams {
  private readonly open = new Set<AbortController>();

  get size(): number {
    return this.open.size;
  }

  add(controller: AbortController): void {
    if (this.open.size >= PLATFORM_STREAMS_MAX) throw new CairnError("TOO_MANY_REQUESTS");
    this.open.add(controller);
  }

  delete(controller: AbortController): void {
    this.open.delete(controller);
  }

  closeAll(): void {
    for (const controller of [...this.open]) controller.abort(new CairnError("STOPPED"));
    this.open.clear();
  }
}

function writer<Res>(
  call: ServerWritableStream<unknown, Res>,
  signal: AbortSignal,
  alive: () => boolean,
) {
  return (response: Res): Promise<void> => {
    signal.throwIfAborted();
    if (!alive()) return Promise.reject(new CairnError("UNAUTHENTICATED", INVALID_TOKEN));
    if (call.write(response)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onDrain = (): void => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = (): void => {
        call.off("drain", onDrain);
        reject(signal.reason);
      };
      call.once("drain", onDrain);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  };
}

/** A server stream whose body runs until the client leaves, the member stops, or it fails. */
export function authedStream<Req, Res>(
  deps: CallDeps & { readonly streams: PlatformStreams },
  body: (request: Req, context: StreamContext<Res>) => Promise<void>,
): handleServerStreamingCall<Req, Res> {
  return (call) => {
    const controller = new AbortController();
    let clientGone = false;
    const onGone = (): void => {
      clientGone = true;
      controller.abort(new Error("the client ended the stream"));
    };
    call.on("cancelled", onGone);
    call.on("close", onGone);
    call.on("error", onGone);
    const signal = controller.signal;
    Promise.resolve()
      .then(async () => {
        deps.streams.add(controller);
        requireLeaderIfAsked(call.metadata, deps.leaderKnown);
        const caller = await deps.auth.authenticate(call.metadata, "linearizable");
        signal.throwIfAborted();
        const fail = (reason: Error): void => controller.abort(reason);
        const write = writer(call, signal, () => deps.auth.alive(caller));
        await body(call.request, { caller, signal, write, fail });
        assert(signal.aborted, "a platform stream body returned while its stream was open");
      })
      .catch((error: unknown) => {
        if (clientGone || call.destroyed) return;
        const cause = signal.aborted ? signal.reason : error;
        call.emit("error", toServiceError(cause));
      })
      .finally(() => {
        deps.streams.delete(controller);
        call.off("cancelled", onGone);
        call.off("close", onGone);
        call.off("error", onGone);
      });
  };
}
