// The cairn client: several endpoints with failover. Reads are retried on
// another endpoint when one is unavailable; writes are retried only when the
// request provably never reached a server (connection refused), because a
// write whose answer was lost may still commit.
import { type Client, status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import type { cairn } from "../gen/cairn.js";
import type { mvccpb } from "../gen/etcd.js";
import { KV_DELETE_RANGE, KV_PUT, KV_RANGE, NODE_STATUS } from "./methods.js";
import { callUnary, openChannel, type UnaryMethod } from "./rpc.js";

export interface ClientOptions {
  readonly endpoints: readonly string[];
  /** Per-attempt deadline. */
  readonly timeoutMs?: number;
  /** Attempts across endpoints before giving up. */
  readonly attemptsMax?: number;
}

export interface KeyValue {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  readonly lease: number;
}

export type NodeStatus = cairn.v1.NodeStatusResponse;

const RETRY_BACKOFF_MS = 25;

function isServiceError(error: unknown): error is ServiceError {
  return typeof error === "object" && error !== null && "code" in error && "details" in error;
}

/** True when the server never saw the request, so a retry cannot double-apply it. */
function neverSent(error: ServiceError): boolean {
  return error.code === GrpcStatus.UNAVAILABLE && !error.details.startsWith("etcdserver:");
}

function toBytes(data: string | Uint8Array): Uint8Array {
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

export class CairnClient {
  private readonly channels: Client[];
  private readonly timeoutMs: number;
  private readonly attemptsMax: number;
  private preferred = 0;

  constructor(options: ClientOptions) {
    if (options.endpoints.length === 0) {
      throw new Error("at least one endpoint (host:port) is required");
    }
    this.channels = options.endpoints.map((endpoint) =>
      openChannel(endpoint.replace(/^https?:\/\//, "")),
    );
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.attemptsMax = options.attemptsMax ?? Math.max(3, 2 * this.channels.length);
  }

  async put(key: string | Uint8Array, value: string | Uint8Array): Promise<{ revision: number }> {
    const response = await this.call(KV_PUT, { key: toBytes(key), value: toBytes(value) }, "write");
    return { revision: response.header?.revision ?? 0 };
  }

  async get(
    key: string | Uint8Array,
    options: { serializable?: boolean } = {},
  ): Promise<KeyValue | null> {
    const response = await this.call(
      KV_RANGE,
      { key: toBytes(key), serializable: options.serializable ?? false },
      "read",
    );
    const kv = response.kvs[0];
    return kv === undefined ? null : fromProtoKv(kv);
  }

  async delete(key: string | Uint8Array): Promise<{ deleted: number }> {
    const response = await this.call(KV_DELETE_RANGE, { key: toBytes(key) }, "write");
    return { deleted: response.deleted };
  }

  /** Status of one endpoint (by index), not failed over: it describes that member. */
  async status(endpointIndex: number): Promise<NodeStatus> {
    const channel = this.channels[endpointIndex];
    if (channel === undefined) throw new Error(`no endpoint #${endpointIndex}`);
    return callUnary(channel, NODE_STATUS, {}, this.timeoutMs);
  }

  get endpointCount(): number {
    return this.channels.length;
  }

  close(): void {
    for (const channel of this.channels) channel.close();
  }

  private async call<Req, Res>(
    method: UnaryMethod<Req, Res>,
    request: Req,
    kind: "read" | "write",
  ): Promise<Res> {
    let lastError: unknown;
    for (let attempt = 0; attempt < this.attemptsMax; attempt++) {
      const index = (this.preferred + attempt) % this.channels.length;
      try {
        const response = await callUnary(
          this.channels[index] as Client,
          method,
          request,
          this.timeoutMs,
        );
        this.preferred = index;
        return response;
      } catch (error) {
        lastError = error;
        if (!isServiceError(error) || !this.retryable(error, kind)) throw error;
        await new Promise((resolve) => setTimeout(resolve, RETRY_BACKOFF_MS));
      }
    }
    throw lastError;
  }

  private retryable(error: ServiceError, kind: "read" | "write"): boolean {
    if (kind === "write") return neverSent(error) || error.details === "etcdserver: no leader";
    return error.code === GrpcStatus.UNAVAILABLE || error.code === GrpcStatus.DEADLINE_EXCEEDED;
  }
}
