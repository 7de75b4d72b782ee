// gRPC calls with the generated static codecs, on a grpc-js Client per
// endpoint: method descriptors for unary, server-stream and bidi calls, and
// the raw unary call. Kept separate so the client library depends only on
// generated protos and grpc-js, never on server code.
import { Client, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";

export interface MessageCodec<T, P> {
  encode(message: P): { finish(): Uint8Array };
  decode(bytes: Uint8Array): T;
}

export interface UnaryMethod<ReqProps, Res> {
  readonly path: string;
  readonly request: MessageCodec<unknown, ReqProps>;
  readonly response: MessageCodec<Res, unknown>;
}

/** A method whose server answers with a stream of messages (watches). */
export interface StreamMethod<ReqProps, Res> extends UnaryMethod<ReqProps, Res> {
  readonly streaming: "server" | "bidi";
}

export function unaryMethod<ReqProps, Res>(
  path: string,
  request: MessageCodec<unknown, ReqProps>,
  response: MessageCodec<Res, unknown>,
): UnaryMethod<ReqProps, Res> {
  return { path, request, response };
}

export function serverStreamMethod<ReqProps, Res>(
  path: string,
  request: MessageCodec<unknown, ReqProps>,
  response: MessageCodec<Res, unknown>,
): StreamMethod<ReqProps, Res> {
  return { path, request, response, streaming: "server" };
}

export function bidiMethod<ReqProps, Res>(
  path: string,
  request: MessageCodec<unknown, ReqProps>,
  response: MessageCodec<Res, unknown>,
): StreamMethod<ReqProps, Res> {
  return { path, request, response, streaming: "bidi" };
}

/** Channel options: bounded message size above etcd's 1.5 MiB request limit, keepalive for failover. */
const CHANNEL_OPTIONS = {
  "grpc.max_receive_message_length": 64 * 1024 * 1024,
  "grpc.max_send_message_length": 64 * 1024 * 1024,
  "grpc.keepalive_time_ms": 10_000,
  "grpc.keepalive_timeout_ms": 5_000,
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 1_000,
};

export function openChannel(address: string): Client {
  return new Client(address, credentials.createInsecure(), CHANNEL_OPTIONS);
}

export function serializer<P>(codec: MessageCodec<unknown, P>): (message: P) => Buffer {
  return (message: P) => {
    const bytes = codec.encode(message).finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

export function deserializer<T>(codec: MessageCodec<T, unknown>): (bytes: Buffer) => T {
  return (bytes: Buffer) => codec.decode(bytes);
}

/** One unary attempt; `signal` cancels it (the call then fails with CANCELLED). */
export function callUnary<ReqProps, Res>(
  client: Client,
  method: UnaryMethod<ReqProps, Res>,
  request: ReqProps,
  timeoutMs: number,
  metadata: Metadata = new Metadata(),
  signal?: AbortSignal,
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const call = client.makeUnaryRequest(
      method.path,
      serializer(method.request),
      deserializer(method.response),
      request,
      metadata,
      { deadline: Date.now() + timeoutMs },
      (error: ServiceError | null, response?: Res) => {
        signal?.removeEventListener("abort", cancel);
        if (error !== null || response === undefined) {
          reject(error ?? new Error(`${method.path}: empty response`));
        } else {
          resolve(response);
        }
      },
    );
    const cancel = (): void => call.cancel();
    signal?.addEventListener("abort", cancel, { once: true });
  });
}
