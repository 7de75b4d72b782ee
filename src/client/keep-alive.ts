// Keeps one etcd lease alive over a LeaseKeepAlive bidi stream, as clientv3
// does: a renewal every TTL/3, a fresh stream on the next endpoint when one
// fails or goes quiet, and "lost" once no renewal has succeeded for a whole
// TTL (the server has expired it by then) or the server answers TTL ≤ 0
// (revoked or expired). Loss is final: the caller re-grants if it wants to.
import { LeaseLostError } from "./errors.js";
import type { Invoker } from "./invoker.js";
import { LEASE_KEEP_ALIVE } from "./methods.js";
import type { StreamCall } from "./transport.js";

/** Never renew more often than this, whatever the TTL. */
const RENEW_INTERVAL_MIN_MS = 300;

export class LeaseKeepAlive {
  private ttlMs: number;
  private lastRenewedAtMs: number;
  private lastSentAtMs = 0;
  private endpoint: number;
  private failuresInRow = 0;
  private call: StreamCall<{ ID: number }> | null = null;
  private sendTimer: NodeJS.Timeout | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly controller = new AbortController();
  private readonly listeners = new Set<(error: LeaseLostError) => void>();
  private readonly untrack: () => void;

  /** `ttlSeconds` is the granted TTL; the lease counts as fresh from now. */
  constructor(
    private readonly invoker: Invoker,
    readonly leaseId: number,
    ttlSeconds: number,
  ) {
    if (!(Number.isSafeInteger(leaseId) && leaseId > 0)) {
      throw new RangeError(`lease id must be a positive integer, got ${leaseId}`);
    }
    if (!(ttlSeconds > 0)) throw new RangeError(`TTL must be positive, got ${ttlSeconds}`);
    this.ttlMs = ttlSeconds * 1000;
    this.lastRenewedAtMs = Date.now();
    this.endpoint = invoker.preferredEndpoint;
    this.untrack = invoker.track({ close: () => this.stop() });
    this.armExpiry();
    this.open();
  }

  /** Aborted (with a LeaseLostError as reason) when the lease is lost. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get lost(): boolean {
    return this.controller.signal.aborted;
  }

  /** Called once if the lease is lost; returns an unsubscribe function. */
  onLost(listener: (error: LeaseLostError) => void): () => void {
    if (this.lost) {
      queueMicrotask(() => listener(this.controller.signal.reason as LeaseLostError));
      return () => {};
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops renewing (the lease then runs out its TTL unless revoked). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.untrack();
    this.clearTimers();
    const call = this.call;
    this.call = null;
    call?.end();
    call?.cancel();
  }

  private get renewIntervalMs(): number {
    return Math.max(RENEW_INTERVAL_MIN_MS, this.ttlMs / 3);
  }

  private open(): void {
    if (this.stopped) return;
    const endpoint = this.endpoint;
    const call = this.invoker.transport.bidi(endpoint, LEASE_KEEP_ALIVE, this.invoker.metadata(), {
      onMessage: (response) => this.renewed(response.ID, response.TTL),
      onError: () => this.streamFailed(call, endpoint),
      onEnd: () => this.streamFailed(call, endpoint),
    });
    this.call = call;
    this.send();
  }

  private send(): void {
    if (this.stopped || this.call === null) return;
    // A stream that took our last two renewals without answering is stuck on
    // a member that is not serving: move on rather than wait for TCP to notice.
    const quietMs = Date.now() - this.lastRenewedAtMs;
    if (this.lastSentAtMs > this.lastRenewedAtMs && quietMs > 2 * this.renewIntervalMs) {
      const call = this.call;
      call.cancel();
      this.streamFailed(call, this.endpoint);
      return;
    }
    this.lastSentAtMs = Date.now();
    this.call.write({ ID: this.leaseId });
    this.sendTimer = setTimeout(() => this.send(), this.renewIntervalMs);
  }

  private renewed(id: number, ttlSeconds: number): void {
    if (this.stopped || id !== this.leaseId) return;
    if (ttlSeconds <= 0) {
      this.lose("the server reports it expired or revoked");
      return;
    }
    this.failuresInRow = 0;
    this.ttlMs = ttlSeconds * 1000;
    this.lastRenewedAtMs = Date.now();
    this.armExpiry();
  }

  private streamFailed(call: StreamCall<{ ID: number }>, endpoint: number): void {
    if (this.stopped || this.call !== call) return;
    this.call = null;
    if (this.sendTimer !== null) clearTimeout(this.sendTimer);
    this.sendTimer = null;
    this.failuresInRow++;
    this.invoker.reportFailure(endpoint);
    this.endpoint = (endpoint + 1) % this.invoker.endpointCount;
    const waitMs = this.invoker.backoffBeforeAttempt(this.failuresInRow);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.open();
    }, waitMs);
  }

  /** The lease is gone for sure once a whole TTL passed since the last renewal we saw. */
  private armExpiry(): void {
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
    const leftMs = this.lastRenewedAtMs + this.ttlMs - Date.now();
    this.expiryTimer = setTimeout(
      () => this.lose(`not renewed within its ${this.ttlMs / 1000} s TTL`),
      Math.max(0, leftMs),
    );
  }

  private lose(why: string): void {
    if (this.stopped) return;
    const error = new LeaseLostError(this.leaseId, why);
    this.stop();
    this.controller.abort(error);
    for (const listener of this.listeners) listener(error);
    this.listeners.clear();
  }

  private clearTimers(): void {
    for (const timer of [this.sendTimer, this.expiryTimer, this.reconnectTimer]) {
      if (timer !== null) clearTimeout(timer);
    }
    this.sendTimer = null;
    this.expiryTimer = null;
    this.reconnectTimer = null;
  }
}
