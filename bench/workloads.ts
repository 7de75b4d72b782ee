// Benchmark workloads over the etcd v3 API, so the same code measures cairn
// and etcd. Each op is one request (a Lock+Unlock cycle is two); keys are
// random over a fixed key space. `watch` measures event delivery instead and
// has its own runner (watch.ts).
import type { Client } from "@grpc/grpc-js";
import { KV_PUT, KV_RANGE, LEASE_GRANT, LEASE_REVOKE } from "../src/client/methods.js";
import { callUnary } from "../src/client/rpc.js";
import { KV_TXN, LOCK_LOCK, LOCK_UNLOCK } from "./methods.js";
import { platformLockWorkload, platformWorkload } from "./platform.js";
import type { RunResult } from "./runner.js";
import { watchWorkload } from "./watch.js";

export interface WorkloadContext {
  readonly keySpace: number;
  readonly valueBytes: number;
  readonly timeoutMs: number;
}

/** One operation by worker `worker` (0-based, stable for the run). */
export type Operation = ((
  channel: Client,
  random: () => number,
  worker: number,
) => Promise<void>) & {
  /** Releases what the operations created (e.g. leases), after the run. */
  close?: () => Promise<void>;
};

/** What a workload with its own runner is given: the run's shape, without an operation. */
export interface MeasureSpec {
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly channels: readonly Client[];
  readonly serverPids: readonly number[];
}

export interface Workload {
  readonly name: string;
  readonly description: string;
  /** Uses the cairn.v1 platform API, which etcd does not have. */
  readonly cairnOnly?: boolean;
  /** Runs once before measuring (e.g. to create the keys a read workload reads). */
  prepare?(channel: Client, context: WorkloadContext): Promise<void>;
  operation(context: WorkloadContext): Operation;
  /** Replaces the closed-loop runner (e.g. watch: one writer, `concurrency` watchers). */
  measure?(spec: MeasureSpec, context: WorkloadContext): Promise<RunResult>;
}

export function keyFor(index: number): Buffer {
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

/** The value every key of the key space starts with (see fillKeySpace). */
function initialValue(context: WorkloadContext): Buffer {
  return Buffer.alloc(context.valueBytes, 0x62);
}

/** Writes every key of the key space, 64 puts in flight. */
async function fillKeySpace(channel: Client, context: WorkloadContext): Promise<void> {
  const value = initialValue(context);
  for (let i = 0; i < context.keySpace; i += 64) {
    const batch = Array.from({ length: Math.min(64, context.keySpace - i) }, (_, j) =>
      callUnary(channel, KV_PUT, { key: keyFor(i + j), value }, context.timeoutMs),
    );
    await Promise.all(batch);
  }
}

function getWorkload(serializable: boolean): Workload {
  return {
    name: serializable ? "get-serializable" : "get",
    description: `${serializable ? "serializable" : "linearizable"} Range of one random existing key`,
    prepare: fillKeySpace,
    operation(context) {
      return async (channel, random) => {
        const key = keyFor(Math.floor(random() * context.keySpace));
        await callUnary(channel, KV_RANGE, { key, serializable }, context.timeoutMs);
      };
    },
  };
}

/**
 * Compare-and-swap: Txn(if value(key) == what this process last saw then put
 * a new value, else range key to learn it). Losing a race is still one op.
 */
const txn: Workload = {
  name: "txn",
  description:
    "CAS on a random key: Txn compare VALUE == old, then put; else read the current value",
  prepare: fillKeySpace,
  operation(context) {
    const known = new Map<number, Uint8Array>();
    let written = 0;
    return async (channel, random) => {
      const index = Math.floor(random() * context.keySpace);
      const key = keyFor(index);
      const old = known.get(index) ?? initialValue(context);
      const value = Buffer.alloc(context.valueBytes, 0x63);
      value.write(`${(written++).toString(36)}-`, 0);
      const response = await callUnary(
        channel,
        KV_TXN,
        {
          compare: [{ key, target: 3, result: 0, value: old }],
          success: [{ requestPut: { key, value } }],
          failure: [{ requestRange: { key } }],
        },
        context.timeoutMs,
      );
      const current = response.succeeded
        ? value
        : response.responses[0]?.responseRange?.kvs?.[0]?.value;
      if (current !== undefined && current !== null) known.set(index, current);
    };
  },
};

/** Locks rotate over this many names, as in reference/etcd-measured.md. */
const LOCK_NAMES = 4;
/** Longer than any run (--duration-s is at most 600): the benchmark sends no keep-alives. */
const LOCK_LEASE_TTL_SECONDS = 3600;

/**
 * v3lock Lock+Unlock cycle with one lease per worker. Lease IDs are chosen
 * here, below 2^53: etcd's own IDs span int64 and would not survive the
 * codecs' JS numbers.
 */
const lock: Workload = {
  name: "lock",
  description: "v3lock Lock+Unlock cycle, one lease per worker, names rotating over 4 locks",
  operation(context) {
    const leaseBase = (1 + Math.floor(Math.random() * 2 ** 30)) * 4096;
    const leases = new Map<number, Promise<number>>();
    const cycles = new Map<number, number>();
    let channelForClose: Client | null = null;
    const leaseFor = (channel: Client, worker: number): Promise<number> => {
      let lease = leases.get(worker);
      if (lease === undefined) {
        const ID = leaseBase + worker;
        lease = callUnary(
          channel,
          LEASE_GRANT,
          { ID, TTL: LOCK_LEASE_TTL_SECONDS },
          context.timeoutMs,
        ).then(() => ID);
        leases.set(worker, lease);
        lease.catch(() => leases.delete(worker));
      }
      return lease;
    };
    const operation: Operation = async (channel, _random, worker) => {
      channelForClose = channel;
      const lease = await leaseFor(channel, worker);
      const cycle = cycles.get(worker) ?? 0;
      cycles.set(worker, cycle + 1);
      const name = Buffer.from(`bench-lock/${(worker + cycle) % LOCK_NAMES}`);
      const locked = await callUnary(channel, LOCK_LOCK, { name, lease }, context.timeoutMs);
      await callUnary(channel, LOCK_UNLOCK, { key: locked.key }, context.timeoutMs);
    };
    operation.close = async () => {
      const channel = channelForClose;
      if (channel === null) return;
      const granted = await Promise.allSettled(leases.values());
      await Promise.allSettled(
        granted.flatMap((g) =>
          g.status === "fulfilled"
            ? [callUnary(channel, LEASE_REVOKE, { ID: g.value }, context.timeoutMs)]
            : [],
        ),
      );
    };
    return operation;
  },
};

/** 90% linearizable gets, 10% puts, over the filled key space. */
const mixed: Workload = {
  name: "mixed",
  description: "90% linearizable Range / 10% Put of random existing keys",
  prepare: fillKeySpace,
  operation(context) {
    const value = Buffer.alloc(context.valueBytes, 0x61);
    return async (channel, random) => {
      const key = keyFor(Math.floor(random() * context.keySpace));
      if (random() < 0.9) await callUnary(channel, KV_RANGE, { key }, context.timeoutMs);
      else await callUnary(channel, KV_PUT, { key, value }, context.timeoutMs);
    };
  },
};

export const WORKLOADS: ReadonlyMap<string, Workload> = new Map(
  [
    put,
    getWorkload(false),
    getWorkload(true),
    txn,
    lock,
    mixed,
    watchWorkload,
    { ...platformWorkload(), cairnOnly: true },
    { ...platformLockWorkload(), cairnOnly: true },
  ].map((w) => [w.name, w]),
);
