// Benchmark workloads over the etcd v3 API, so the same code measures cairn
// and etcd. Each op is one request; keys are random over a fixed key space.
import type { Client } from "@grpc/grpc-js";
import { KV_PUT, KV_RANGE } from "../src/client/methods.js";
import { callUnary } from "../src/client/rpc.js";

export interface WorkloadContext {
  readonly keySpace: number;
  readonly valueBytes: number;
  readonly timeoutMs: number;
}

export type Operation = (channel: Client, random: () => number) => Promise<void>;

export interface Workload {
  readonly name: string;
  readonly description: string;
  /** Runs once before measuring (e.g. to create the keys a read workload reads). */
  prepare?(channel: Client, context: WorkloadContext): Promise<void>;
  operation(context: WorkloadContext): Operation;
}

function keyFor(index: number): Buffer {
  return Buffer.from(`bench/${index.toString().padStart(6, "0")}`);
}

const put: Workload = {
  name: "put",
  description: "Put, random key of the key space, fixed-size value",
  operation(context) {
    const value = Buffer.alloc(context.valueBytes, 0x61);
    return async (channel, random) => {
      const key = keyFor(Math.floor(random() * context.keySpace));
      await callUnary(channel, KV_PUT, { key, value }, context.timeoutMs);
    };
  },
};

function getWorkload(serializable: boolean): Workload {
  return {
    name: serializable ? "get-serializable" : "get",
    description: `${serializable ? "serializable" : "linearizable"} Range of one random existing key`,
    async prepare(channel, context) {
      const value = Buffer.alloc(context.valueBytes, 0x62);
      for (let i = 0; i < context.keySpace; i += 64) {
        const batch = Array.from({ length: Math.min(64, context.keySpace - i) }, (_, j) =>
          callUnary(channel, KV_PUT, { key: keyFor(i + j), value }, context.timeoutMs),
        );
        await Promise.all(batch);
      }
    },
    operation(context) {
      return async (channel, random) => {
        const key = keyFor(Math.floor(random() * context.keySpace));
        await callUnary(channel, KV_RANGE, { key, serializable }, context.timeoutMs);
      };
    },
  };
}

export const WORKLOADS: ReadonlyMap<string, Workload> = new Map(
  [put, getWorkload(false), getWorkload(true)].map((w) => [w.name, w]),
);
