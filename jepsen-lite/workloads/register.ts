// register: get / put / cas on a few keys through the etcd KV API. cas is a
// Txn "if value == old then put new". Values are run-unique integers stored
// as decimal text; a get of a missing key reads null. History values:
// get → the value read, put → the value, cas → [old, new].
import { KV_SERVICE } from "../../src/server/services.js";
import { bytes, describeError, text } from "./endpoints.js";
import {
  endpointChooser,
  infoBackoffMs,
  sleep,
  type Workload,
  type WorkloadContext,
} from "./workload.js";

const COMPARE_EQUAL = 0;
const COMPARE_TARGET_VALUE = 3;

export interface RegisterOptions {
  readonly workers: number;
  readonly keys: number;
  /**
   * Ops per key before the workload moves on to a fresh set of keys
   * (r<generation>.<i>): short per-key histories keep the linearizability
   * search small even with many indeterminate writes.
   */
  readonly opsPerKey: number;
  /** Bound on ops per worker, on top of the time bound. */
  readonly opsPerWorkerMax: number;
}

export const REGISTER_DEFAULTS: RegisterOptions = {
  workers: 6,
  keys: 10,
  opsPerKey: 60,
  opsPerWorkerMax: 100_000,
};

export class RegisterWorkload implements Workload {
  readonly name = "register";
  private readonly lastSeen = new Map<string, number>();
  private readonly counts = { ok: 0, fail: 0, info: 0 };
  private opsIssued = 0;

  constructor(private readonly options: RegisterOptions = REGISTER_DEFAULTS) {}

  async run(ctx: WorkloadContext): Promise<void> {
    await Promise.all(
      Array.from({ length: this.options.workers }, (_, w) => this.worker(ctx, w, ctx.rng.fork())),
    );
  }

  summary(): Record<string, unknown> {
    return {
      ...this.counts,
      keys: this.options.keys,
      generations: this.generation() + 1,
      workers: this.options.workers,
    };
  }

  private generation(): number {
    return Math.floor(this.opsIssued / (this.options.keys * this.options.opsPerKey));
  }

  /** The keys in use now: the final reads read these on every member. */
  currentKeys(): string[] {
    const generation = this.generation();
    return Array.from({ length: this.options.keys }, (_, i) => `r${generation}.${i}`);
  }

  private async worker(
    ctx: WorkloadContext,
    w: number,
    rng: WorkloadContext["rng"],
  ): Promise<void> {
    const endpoint = endpointChooser(w, ctx.endpoints.names, rng);
    let process = ctx.history.newProcess();
    let infos = 0;
    for (let n = 0; n < this.options.opsPerWorkerMax && !ctx.signal.aborted; n++) {
      if (ctx.history.full) return;
      const key = `r${this.generation()}.${rng.int(0, this.options.keys - 1)}`;
      this.opsIssued++;
      const roll = rng.next();
      const node = endpoint.choose();
      const expected = this.lastSeen.get(key);
      const f = roll < 0.4 ? "read" : roll < 0.7 || expected === undefined ? "write" : "cas";
      const outcome = await this.invoke(ctx, process, node, f, key, expected);
      this.counts[outcome]++;
      infos = outcome === "info" ? infos + 1 : 0;
      if (outcome === "info") process = ctx.history.newProcess();
      await sleep(rng.between(0.5, 1.5) * ctx.opGapMs + infoBackoffMs(infos), ctx.signal);
    }
  }

  private async invoke(
    ctx: WorkloadContext,
    process: number,
    node: string,
    f: "read" | "write" | "cas",
    key: string,
    expected: number | undefined,
  ): Promise<"ok" | "fail" | "info"> {
    const { history, endpoints, opTimeoutMs } = ctx;
    switch (f) {
      case "read": {
        history.record({ process, type: "invoke", f, key, value: null, node });
        try {
          const response = await endpoints.call(
            node,
            KV_SERVICE.Range,
            { key: bytes(key) },
            opTimeoutMs,
          );
          const kv = response.kvs[0];
          const value = kv === undefined ? null : Number(text(kv.value));
          if (value !== null) this.lastSeen.set(key, value);
          history.record({ process, type: "ok", f, key, value, node });
          return "ok";
        } catch (error) {
          history.record({
            process,
            type: "info",
            f,
            key,
            value: null,
            node,
            error: describeError(error),
          });
          return "info";
        }
      }
      case "write": {
        const value = ctx.nextValue();
        history.record({ process, type: "invoke", f, key, value, node });
        try {
          await endpoints.call(
            node,
            KV_SERVICE.Put,
            { key: bytes(key), value: bytes(String(value)) },
            opTimeoutMs,
          );
          this.lastSeen.set(key, value);
          history.record({ process, type: "ok", f, key, value, node });
          return "ok";
        } catch (error) {
          history.record({
            process,
            type: "info",
            f,
            key,
            value,
            node,
            error: describeError(error),
          });
          return "info";
        }
      }
      case "cas": {
        const value = [expected ?? 0, ctx.nextValue()] as const;
        history.record({ process, type: "invoke", f, key, value, node });
        try {
          const response = await endpoints.call(
            node,
            KV_SERVICE.Txn,
            {
              compare: [
                {
                  result: COMPARE_EQUAL,
                  target: COMPARE_TARGET_VALUE,
                  key: bytes(key),
                  value: bytes(String(value[0])),
                },
              ],
              success: [{ requestPut: { key: bytes(key), value: bytes(String(value[1])) } }],
            },
            opTimeoutMs,
          );
          if (response.succeeded) this.lastSeen.set(key, value[1]);
          history.record({
            process,
            type: response.succeeded ? "ok" : "fail",
            f,
            key,
            value,
            node,
          });
          return response.succeeded ? "ok" : "fail";
        } catch (error) {
          history.record({
            process,
            type: "info",
            f,
            key,
            value,
            node,
            error: describeError(error),
          });
          return "info";
        }
      }
    }
  }
}
