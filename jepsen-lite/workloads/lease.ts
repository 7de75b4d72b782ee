// lease: grant a short lease, put one key on it, send no keep-alives, and read
// the key (linearizably) until it is gone or a bound passes. The history lets
// a checker ask: was it ever gone before TTL after the grant's reply, did it
// ever come back, and how late did it go.
// History: lease:grant → ok {lease, ttl}; lease:put key → ok {lease};
// lease:read key → ok {present}.
import { LEASE_SERVICE } from "../../src/server/lease/lease-service.js";
import { KV_SERVICE } from "../../src/server/services.js";
import { bytes, describeError } from "./endpoints.js";
import { endpointChooser, sleep, type Workload, type WorkloadContext } from "./workload.js";

export interface LeaseOptions {
  readonly workers: number;
  readonly ttlSeconds: number;
  readonly readEveryMs: number;
  /** Stop watching a key this long after TTL (it should be gone by then). */
  readonly watchPastTtlMs: number;
  /** How much longer a round reads a key it has not yet seen gone. */
  readonly confirmPastWindowMs: number;
  readonly roundsPerWorkerMax: number;
}

export const LEASE_DEFAULTS: LeaseOptions = {
  workers: 2,
  ttlSeconds: 3,
  readEveryMs: 300,
  watchPastTtlMs: 8_000,
  confirmPastWindowMs: 20_000,
  roundsPerWorkerMax: 1_000,
};

export class LeaseWorkload implements Workload {
  readonly name = "lease";
  private readonly counts = { rounds: 0, expiredSeen: 0, info: 0 };

  constructor(private readonly options: LeaseOptions = LEASE_DEFAULTS) {}

  async run(ctx: WorkloadContext): Promise<void> {
    await Promise.all(
      Array.from({ length: this.options.workers }, (_, w) => this.worker(ctx, w, ctx.rng.fork())),
    );
  }

  summary(): Record<string, unknown> {
    return { ...this.counts, ttlSeconds: this.options.ttlSeconds };
  }

  private async worker(
    ctx: WorkloadContext,
    w: number,
    rng: WorkloadContext["rng"],
  ): Promise<void> {
    const endpoint = endpointChooser(w + 1, ctx.endpoints.names, rng);
    for (let round = 0; round < this.options.roundsPerWorkerMax && !ctx.signal.aborted; round++) {
      if (ctx.history.full) return;
      this.counts.rounds++;
      await this.round(ctx, endpoint.choose(), `lease-${ctx.nextValue()}`);
      await sleep(ctx.opGapMs, ctx.signal);
    }
  }

  private async round(ctx: WorkloadContext, node: string, key: string): Promise<void> {
    const { history, endpoints, opTimeoutMs } = ctx;
    let process = history.newProcess();
    history.record({ process, type: "invoke", f: "lease:grant", key, node });
    let lease: number;
    let ttl: number;
    try {
      const grant = await endpoints.call(
        node,
        LEASE_SERVICE.LeaseGrant,
        { ID: ctx.nextLeaseId(), TTL: this.options.ttlSeconds },
        opTimeoutMs,
      );
      lease = Number(grant.ID);
      ttl = Number(grant.TTL);
      history.record({ process, type: "ok", f: "lease:grant", key, value: { lease, ttl }, node });
    } catch (error) {
      this.counts.info++;
      history.record({
        process,
        type: "info",
        f: "lease:grant",
        key,
        node,
        error: describeError(error),
      });
      return;
    }
    const grantedAtMs = Date.now();
    const value = { lease };
    history.record({ process, type: "invoke", f: "lease:put", key, value, node });
    try {
      await endpoints.call(
        node,
        KV_SERVICE.Put,
        { key: bytes(key), value: bytes("x"), lease },
        opTimeoutMs,
      );
      history.record({ process, type: "ok", f: "lease:put", key, value, node });
    } catch (error) {
      this.counts.info++;
      history.record({
        process,
        type: "info",
        f: "lease:put",
        key,
        value,
        node,
        error: describeError(error),
      });
      return;
    }
    const untilMs = grantedAtMs + ttl * 1000 + this.options.watchPastTtlMs;
    let absentReads = 0;
    // Reads move on to the next member after a failure: a lease whose member is
    // paused or cut off for the whole window would otherwise never be seen gone.
    const names = ctx.endpoints.names;
    let readNode = node;
    // A round runs to its end even after the load phase stops (bounded by
    // untilMs): a lease never seen gone proves nothing either way.
    // Past untilMs a lease never yet seen gone is read on (bounded): after a
    // kill-all no member may answer for the whole window, and an expiry never
    // observed leaves the checker "unknown".
    const readOn = (): boolean =>
      absentReads < 2 &&
      (Date.now() < untilMs ||
        (absentReads === 0 && Date.now() < untilMs + this.options.confirmPastWindowMs));
    while (readOn()) {
      await sleep(this.options.readEveryMs);
      history.record({ process, type: "invoke", f: "lease:read", key, node: readNode });
      try {
        const range = await endpoints.call(
          readNode,
          KV_SERVICE.Range,
          { key: bytes(key) },
          opTimeoutMs,
        );
        const present = range.kvs.length > 0;
        if (!present) absentReads++;
        history.record({
          process,
          type: "ok",
          f: "lease:read",
          key,
          value: { present },
          node: readNode,
        });
      } catch (error) {
        this.counts.info++;
        history.record({
          process,
          type: "info",
          f: "lease:read",
          key,
          node: readNode,
          error: describeError(error),
        });
        process = history.newProcess();
        readNode = names[(names.indexOf(readNode) + 1) % names.length] ?? node;
      }
    }
    if (absentReads > 0) this.counts.expiredSeen++;
  }
}
