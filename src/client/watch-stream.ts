// A server-streaming watch as an async iterable that survives the member it
// reads from: on a retryable failure it reconnects to the next endpoint with
// backoff, asking `spec.request()` for where to resume (the caller records
// the last sequence it saw). Delivery is buffered in a bounded queue; when the
// consumer falls behind the gRPC stream is paused, so memory stays bounded and
// the server's own flow control takes over.
import { CairnAbortError, toRpcError } from "./errors.js";
import type { Invoker } from "./invoker.js";
import { classifyFailure } from "./retry-policy.js";
import type { StreamMethod } from "./rpc.js";
import type { StreamCall } from "./transport.js";

export interface WatchSpec<Req, Res, Item> {
  readonly method: StreamMethod<Req, Res>;
  /** The request for the next connect: resumes after whatever `items` last recorded. */
  readonly request: () => Req;
  /** The items one response carries (record the resume point here). */
  readonly items: (response: Res) => readonly Item[];
  /** Before a reconnect: items that bring the consumer up to date (a fresh list). */
  readonly resync?: () => Promise<readonly Item[]>;
}

export interface WatchOptions {
  readonly signal?: AbortSignal;
  /** Buffered items before the stream is paused. */
  readonly queueMax?: number;
  /** Reconnect attempts in a row, without a message in between, before giving up. */
  readonly reconnectsMax?: number;
}

/** What a watch call returns: iterate it, and close it when done. */
export interface Watch<Item> extends AsyncIterable<Item> {
  /**
   * Resolves once a server has confirmed the watch (its first response):
   * changes made after that are delivered. Rejects if it fails or is closed first.
   */
  readonly started: Promise<void>;
  close(): void;
}

export const WATCH_QUEUE_MAX = 1024;
export const WATCH_RECONNECTS_MAX = 20;

interface Waiter<Item> {
  readonly resolve: (result: IteratorResult<Item>) => void;
  readonly reject: (error: unknown) => void;
}

export class WatchStream<Req, Res, Item> implements Watch<Item> {
  private readonly queue: Item[] = [];
  private waiter: Waiter<Item> | null = null;
  private failure: unknown = null;
  private closed = false;
  private call: StreamCall<never> | null = null;
  private paused = false;
  private endpoint: number;
  private failuresInRow = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private readonly untrack: () => void;
  readonly started: Promise<void>;
  private confirm: (() => void) | null = null;
  private refuse: ((error: unknown) => void) | null = null;
  private readonly queueMax: number;
  private readonly reconnectsMax: number;
  private readonly onAbort = (): void =>
    this.fail(new CairnAbortError(this.options.signal?.reason));

  constructor(
    private readonly invoker: Invoker,
    private readonly spec: WatchSpec<Req, Res, Item>,
    private readonly options: WatchOptions = {},
  ) {
    this.queueMax = options.queueMax ?? WATCH_QUEUE_MAX;
    this.reconnectsMax = options.reconnectsMax ?? WATCH_RECONNECTS_MAX;
    this.endpoint = invoker.preferredEndpoint;
    this.started = new Promise<void>((resolve, reject) => {
      this.confirm = resolve;
      this.refuse = reject;
    });
    // Awaiting `started` is optional: its rejection must not count as unhandled.
    this.started.catch(() => {});
    this.untrack = invoker.track(this);
    if (options.signal?.aborted === true) {
      this.failure = new CairnAbortError(options.signal.reason);
      this.untrack();
      this.settleStarted(this.failure);
      return;
    }
    options.signal?.addEventListener("abort", this.onAbort, { once: true });
    this.connect();
  }

  /** Stops watching; a pending `next()` resolves as done. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stop();
    this.settleStarted(new CairnAbortError(new Error("the watch was closed")));
    this.settle();
  }

  [Symbol.asyncIterator](): AsyncIterator<Item> {
    return {
      next: () => this.next(),
      return: async () => {
        this.close();
        return { done: true, value: undefined };
      },
    };
  }

  private next(): Promise<IteratorResult<Item>> {
    if (this.waiter !== null) throw new Error("a watch supports one reader at a time");
    const item = this.take();
    if (item !== null) return Promise.resolve(item);
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.closed) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  private take(): IteratorResult<Item> | null {
    if (this.queue.length === 0) return null;
    const value = this.queue.shift() as Item;
    if (this.paused && this.queue.length <= this.queueMax / 2) {
      this.paused = false;
      this.call?.resume();
    }
    return { done: false, value };
  }

  private connect(): void {
    if (this.closed || this.failure !== null) return;
    const endpoint = this.endpoint;
    try {
      this.call = this.invoker.transport.serverStream(
        endpoint,
        this.spec.method,
        this.spec.request(),
        this.invoker.metadata(),
        {
          onMessage: (response) => this.receive(response),
          onError: (error) => this.lost(error, endpoint),
          onEnd: () => this.lost(null, endpoint),
        },
      );
    } catch (error) {
      // The channel refused to start a call at all (closed): nothing to retry.
      this.fail(error, endpoint);
    }
  }

  private receive(response: Res): void {
    if (this.closed) return;
    this.failuresInRow = 0;
    this.settleStarted(null);
    let items: readonly Item[];
    try {
      items = this.spec.items(response);
    } catch (error) {
      this.fail(error);
      return;
    }
    this.push(items);
  }

  private push(items: readonly Item[]): void {
    for (const item of items) this.queue.push(item);
    if (this.queue.length >= this.queueMax && !this.paused) {
      this.paused = true;
      this.call?.pause();
    }
    this.settle();
  }

  /** The stream ended (error, or a clean end the server should not send): reconnect or give up. */
  private lost(error: unknown, endpoint: number): void {
    this.call = null;
    this.paused = false;
    if (this.closed || this.failure !== null) return;
    if (error !== null && classifyFailure(error) === "final") {
      this.fail(error, endpoint);
      return;
    }
    this.failuresInRow++;
    if (this.failuresInRow > this.reconnectsMax) {
      this.fail(error ?? new Error("watch stream kept ending"), endpoint);
      return;
    }
    this.invoker.reportFailure(endpoint);
    this.endpoint = (endpoint + 1) % this.invoker.endpointCount;
    const waitMs = this.invoker.backoffBeforeAttempt(this.failuresInRow);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.reconnect();
    }, waitMs);
  }

  private reconnect(): void {
    const resync = this.spec.resync;
    if (resync === undefined) {
      this.connect();
      return;
    }
    resync().then(
      (items) => {
        if (this.closed || this.failure !== null) return;
        this.push(items);
        this.connect();
      },
      // A failed resync counts as one more failed reconnect.
      (error: unknown) => this.lost(error, this.endpoint),
    );
  }

  private fail(error: unknown, endpoint = this.endpoint): void {
    if (this.failure !== null || this.closed) return;
    this.failure = toRpcError(error, {
      method: this.spec.method.path,
      endpoint: this.invoker.transport.endpoints[endpoint] ?? "?",
      attempts: this.failuresInRow + 1,
      outcomeUnknown: false,
    });
    this.stop();
    this.settleStarted(this.failure);
    this.settle();
  }

  /** Resolves `started` (error null) or rejects it, once. */
  private settleStarted(error: unknown): void {
    const [confirm, refuse] = [this.confirm, this.refuse];
    this.confirm = null;
    this.refuse = null;
    if (error === null) confirm?.();
    else refuse?.(error);
  }

  private stop(): void {
    this.untrack();
    this.options.signal?.removeEventListener("abort", this.onAbort);
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.call?.cancel();
    this.call = null;
  }

  /** Hands the waiting reader an item, the failure, or the end. */
  private settle(): void {
    const waiter = this.waiter;
    if (waiter === null) return;
    const item = this.take();
    if (item !== null) {
      this.waiter = null;
      waiter.resolve(item);
    } else if (this.failure !== null) {
      this.waiter = null;
      waiter.reject(this.failure);
    } else if (this.closed) {
      this.waiter = null;
      waiter.resolve({ done: true, value: undefined });
    }
  }
}
