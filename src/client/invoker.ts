// The bounded retry loop every unary call goes through: pick an endpoint
// (sticky until it fails), attach the session token and `hasleader`, give the
// attempt its share of the call's deadline, classify a failure with
// retry-policy.ts, back off, fail over. Streams use the same endpoint choice
// and metadata but run their own loops (watch-stream.ts, keep-alive.ts).
import {
  CairnAbortError,
  CairnRpcError,
  GrpcStatus,
  isStatusLike,
  type StatusLike,
  throwIfAborted,
  toRpcError,
} from "./errors.js";
import {
  type BackoffOptions,
  backoffMs,
  type CallSafety,
  classifyFailure,
  DEFAULT_BACKOFF,
  isRetryable,
} from "./retry-policy.js";
import type { UnaryMethod } from "./rpc.js";
import type { Transport } from "./transport.js";

/** Options every public call accepts. */
export interface CallOptions {
  /** This call's whole budget in ms, retries and backoff included. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface InvokeOptions<Res> extends CallOptions {
  readonly safety: CallSafety;
  /** The server holds this call on purpose (Acquire waits in line): one attempt may use the whole budget. */
  readonly waits?: boolean;
  /** Only this endpoint, no failover: the answer describes that member. */
  readonly endpoint?: number;
  /**
   * Consulted only after an attempt's outcome was ambiguous: if a retry's
   * error proves the earlier attempt was applied ("lease already exists" for
   * a lease id we chose), the answer to return instead of failing.
   */
  readonly appliedEarlier?: (error: StatusLike) => Res | null;
  /** Fewer attempts than the client's default (1 = no retry). */
  readonly attemptsMax?: number;
  /**
   * Default true: a member without a leader fails the call at once ("no
   * leader", retried elsewhere) instead of waiting out the deadline. False
   * for calls a leaderless member can answer (its own status, serializable reads).
   */
  readonly requireLeader?: boolean;
}

export interface InvokerOptions {
  /** Default budget of a call, retries included. */
  readonly callTimeoutMs: number;
  /** Longest single attempt, so one hung member cannot eat the whole budget. */
  readonly attemptTimeoutMs: number;
  readonly attemptsMax: number;
  readonly backoff?: BackoffOptions;
  /** Injected for tests; Math.random otherwise. */
  readonly random?: () => number;
}

/** The bearer token of the logged-in user, shared by every call of one client. */
export class Session {
  private current: string | null;
  private readonly listeners = new Set<(token: string | null) => void>();

  constructor(token: string | null = null) {
    this.current = token;
  }

  get token(): string | null {
    return this.current;
  }

  set(token: string | null): void {
    if (token === this.current) return;
    this.current = token;
    for (const listener of this.listeners) listener(token);
  }

  onChange(listener: (token: string | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Resolves after `ms`, or rejects with CairnAbortError when `signal` fires first. */
export function sleepMs(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(new CairnAbortError(signal.reason));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new CairnAbortError(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

interface LoopState {
  attempts: number;
  ambiguous: boolean;
  lastError: unknown;
  endpoint: number;
}

/** Something a client owns that must stop when it closes (watches, keep-alives). */
export interface Closable {
  close(): void;
}

export class Invoker {
  private preferred = 0;
  private closed = false;
  private readonly closables = new Set<Closable>();
  private readonly backoff: BackoffOptions;
  private readonly random: () => number;

  constructor(
    readonly transport: Transport,
    readonly session: Session,
    private readonly options: InvokerOptions,
  ) {
    if (!(Number.isSafeInteger(options.attemptsMax) && options.attemptsMax >= 1)) {
      throw new RangeError(`attemptsMax must be a positive integer, got ${options.attemptsMax}`);
    }
    if (!(options.callTimeoutMs > 0 && options.attemptTimeoutMs > 0)) {
      throw new RangeError("callTimeoutMs and attemptTimeoutMs must be positive");
    }
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.random = options.random ?? Math.random;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Registers a stream to stop on close(); returns the unregister function. */
  track(closable: Closable): () => void {
    if (this.closed) {
      queueMicrotask(() => closable.close());
      return () => {};
    }
    this.closables.add(closable);
    return () => this.closables.delete(closable);
  }

  /** Stops every watch and keep-alive of this client, then closes its channels. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const open = [...this.closables];
    this.closables.clear();
    for (const closable of open) closable.close();
    this.transport.close();
  }

  get endpointCount(): number {
    return this.transport.endpoints.length;
  }

  /** The endpoint new calls and streams start on. */
  get preferredEndpoint(): number {
    return this.preferred;
  }

  /** An attempt on `endpoint` failed in a way that says the member is unwell: move off it. */
  reportFailure(endpoint: number): void {
    if (endpoint === this.preferred) this.preferred = (endpoint + 1) % this.endpointCount;
  }

  /** Metadata for every call: the session's bearer token, and fail fast without a leader. */
  metadata(requireLeader = true): Record<string, string> {
    const token = this.session.token;
    const metadata: Record<string, string> = requireLeader ? { hasleader: "true" } : {};
    if (token !== null) metadata.authorization = `Bearer ${token}`;
    return metadata;
  }

  backoffBeforeAttempt(attempt: number): number {
    return backoffMs(attempt, this.endpointCount, this.backoff, this.random);
  }

  get attemptTimeoutMs(): number {
    return this.options.attemptTimeoutMs;
  }

  /** A call's default budget, retries included. */
  get callTimeoutMs(): number {
    return this.options.callTimeoutMs;
  }

  async unary<Req, Res>(
    method: UnaryMethod<Req, Res>,
    request: Req,
    options: InvokeOptions<Res>,
  ): Promise<Res> {
    const budgetMs = options.timeoutMs ?? this.options.callTimeoutMs;
    const callDeadline = Date.now() + budgetMs;
    const attemptsMax = Math.min(
      options.attemptsMax ?? this.options.attemptsMax,
      this.options.attemptsMax,
    );
    const state: LoopState = {
      attempts: 0,
      ambiguous: false,
      lastError: null,
      endpoint: options.endpoint ?? this.preferred,
    };
    while (state.attempts < attemptsMax) {
      throwIfAborted(options.signal);
      if (this.closed) throw new Error(`${method.path}: the client is closed`);
      const remainingMs = callDeadline - Date.now();
      if (remainingMs <= 0) break;
      state.attempts++;
      const attemptMs =
        options.waits === true ? remainingMs : Math.min(remainingMs, this.options.attemptTimeoutMs);
      try {
        const response = await this.transport.unary(state.endpoint, method, request, {
          deadlineAtMs: Date.now() + attemptMs,
          metadata: this.metadata(options.requireLeader ?? true),
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        });
        if (options.endpoint === undefined) this.preferred = state.endpoint;
        return response;
      } catch (error) {
        const earlier = this.settleFailure(error, state, method.path, options);
        if (earlier !== null) return earlier.response;
        const waitMs = Math.min(
          this.backoffBeforeAttempt(state.attempts),
          callDeadline - Date.now(),
        );
        if (waitMs > 0 && state.attempts < attemptsMax) {
          await sleepMs(waitMs, options.signal);
        }
      }
    }
    throw this.exhausted(state, method.path, budgetMs, attemptsMax);
  }

  /**
   * Decides what a failed attempt means: throws when it must not be retried,
   * returns the earlier attempt's answer when the error proves it applied, and
   * otherwise moves the loop to the next endpoint.
   */
  private settleFailure<Res>(
    error: unknown,
    state: LoopState,
    path: string,
    options: InvokeOptions<Res>,
  ): { response: Res } | null {
    if (options.signal?.aborted === true) throw new CairnAbortError(options.signal.reason);
    if (state.ambiguous && options.appliedEarlier !== undefined && isStatusLike(error)) {
      const response = options.appliedEarlier(error);
      if (response !== null) return { response };
    }
    const kind = classifyFailure(error);
    if (kind === "ambiguous" && options.safety !== "read") state.ambiguous = true;
    const context = {
      method: path,
      endpoint: this.transport.endpoints[state.endpoint] ?? "?",
      attempts: state.attempts,
      outcomeUnknown: state.ambiguous,
    };
    if (!isRetryable(options.safety, kind)) throw toRpcError(error, context);
    state.lastError = toRpcError(error, context);
    if (options.endpoint === undefined) {
      this.reportFailure(state.endpoint);
      state.endpoint = (state.endpoint + 1) % this.endpointCount;
    }
    return null;
  }

  private exhausted(
    state: LoopState,
    path: string,
    budgetMs: number,
    attemptsMax: number,
  ): unknown {
    if (state.lastError !== null && state.attempts >= attemptsMax) {
      return state.lastError;
    }
    const tried =
      state.lastError instanceof Error ? `; last error: ${state.lastError.message}` : "";
    return new CairnRpcError(
      GrpcStatus.DEADLINE_EXCEEDED,
      `call did not complete within ${budgetMs} ms (${state.attempts} attempts)${tried}`,
      {
        method: path,
        endpoint: this.transport.endpoints[state.endpoint] ?? "?",
        attempts: state.attempts,
        outcomeUnknown: state.ambiguous,
      },
      state.lastError === null ? undefined : { cause: state.lastError },
    );
  }
}
