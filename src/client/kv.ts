// etcd KV basics: put, get, delete and prefix range. Reads retry on any
// member; put and delete retry only when they provably never reached one.
import type { mvccpb } from "../gen/etcd.js";
import type { CallOptions, Invoker } from "./invoker.js";
import { KV_DELETE_RANGE, KV_PUT, KV_RANGE } from "./methods.js";

export interface KeyValue {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  readonly lease: number;
}

export interface GetOptions extends CallOptions {
  /** Read this member's local state (possibly stale) instead of a linearizable read. */
  readonly serializable?: boolean;
}

export interface PutOptions extends CallOptions {
  readonly lease?: number;
}

export function toBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === "string" ? Buffer.from(data) : data;
}

function fromProtoKv(kv: mvccpb.KeyValue.$Properties): KeyValue {
  return {
    key: Buffer.from(kv.key ?? []),
    value: Buffer.from(kv.value ?? []),
    createRevision: kv.createRevision ?? 0,
    modRevision: kv.modRevision ?? 0,
    version: kv.version ?? 0,
    lease: kv.lease ?? 0,
  };
}

/** The range end that selects every key starting with `prefix` (etcd's --prefix rule). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = Uint8Array.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Uint8Array.of(0); // all keys
}

export class KvApi {
  constructor(private readonly invoker: Invoker) {}

  async put(
    key: string | Uint8Array,
    value: string | Uint8Array,
    options: PutOptions = {},
  ): Promise<{ revision: number }> {
    const response = await this.invoker.unary(
      KV_PUT,
      { key: toBytes(key), value: toBytes(value), lease: options.lease ?? 0 },
      { ...options, safety: "write" },
    );
    return { revision: response.header?.revision ?? 0 };
  }

  async get(key: string | Uint8Array, options: GetOptions = {}): Promise<KeyValue | null> {
    const response = await this.invoker.unary(
      KV_RANGE,
      { key: toBytes(key), serializable: options.serializable ?? false },
      { ...options, safety: "read", requireLeader: options.serializable !== true },
    );
    const kv = response.kvs[0];
    return kv === undefined ? null : fromProtoKv(kv);
  }

  /** Keys starting with `prefix`, in key order, at most `limit` (0 = no limit). */
  async getPrefix(
    prefix: string | Uint8Array,
    options: GetOptions & { readonly limit?: number } = {},
  ): Promise<KeyValue[]> {
    const key = toBytes(prefix);
    const response = await this.invoker.unary(
      KV_RANGE,
      {
        key: key.length === 0 ? Uint8Array.of(0) : key,
        rangeEnd: prefixEnd(key),
        limit: options.limit ?? 0,
        serializable: options.serializable ?? false,
      },
      { ...options, safety: "read", requireLeader: options.serializable !== true },
    );
    return response.kvs.map(fromProtoKv);
  }

  async delete(key: string | Uint8Array, options: CallOptions = {}): Promise<{ deleted: number }> {
    const response = await this.invoker.unary(
      KV_DELETE_RANGE,
      { key: toBytes(key) },
      { ...options, safety: "write" },
    );
    return { deleted: response.deleted };
  }
}
