// gRPC channels to the members' client ports, one per member, shared by all
// workers, and the one place an RPC gets its deadline. Workloads use raw etcd
// API calls (no client-library retries) so that what the history records is
// exactly what was sent once.
import { Client, credentials, type Metadata } from "@grpc/grpc-js";
import { callUnary, type TypedMethod } from "../../src/transport/grpc-codec.js";

export interface Endpoint {
  readonly name: string;
  readonly address: string;
}

/** Keepalive so a blackholed or paused member is noticed, and no ping storm. */
const CHANNEL_OPTIONS = {
  "grpc.keepalive_time_ms": 10_000,
  "grpc.keepalive_timeout_ms": 3_000,
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 1_000,
};

export class Endpoints {
  private readonly clients = new Map<string, Client>();

  constructor(readonly endpoints: readonly Endpoint[]) {
    for (const endpoint of endpoints) {
      this.clients.set(
        endpoint.name,
        new Client(endpoint.address, credentials.createInsecure(), CHANNEL_OPTIONS),
      );
    }
  }

  get names(): string[] {
    return this.endpoints.map((e) => e.name);
  }

  /**
   * One unary call with a hard deadline; rejects with the gRPC error.
   * `metadata` carries e.g. the cairn.v1 bearer token.
   */
  call<ReqW, ReqR, ResW, ResR>(
    name: string,
    method: TypedMethod<"unary", ReqW, ReqR, ResW, ResR>,
    request: ReqW,
    timeoutMs: number,
    metadata?: Metadata,
  ): Promise<ResR> {
    const client = this.clients.get(name);
    if (client === undefined) return Promise.reject(new Error(`no endpoint ${name}`));
    return callUnary(client, method, request, { deadline: Date.now() + timeoutMs }, metadata);
  }

  /** The member's channel, for streams (watch). */
  client(name: string): Client {
    const client = this.clients.get(name);
    if (client === undefined) throw new Error(`no endpoint ${name}`);
    return client;
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}

/** A short description of an RPC error for the history's `error` field. */
export function describeError(error: unknown): string {
  const e = error as { code?: number; details?: string; message?: string };
  if (typeof e.code === "number") return `grpc ${e.code}: ${e.details ?? e.message ?? ""}`;
  return String(e.message ?? error);
}

export const bytes = (text: string): Uint8Array => Buffer.from(text);
export const text = (data: Uint8Array | null | undefined): string =>
  data === null || data === undefined ? "" : Buffer.from(data).toString();
