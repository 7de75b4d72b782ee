// Unary gRPC calls with the generated static codecs, on a grpc-js Client per
// endpoint. Kept separate so the client library depends only on generated
// protos and grpc-js, never on server code.
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

export function unaryMethod<ReqProps, Res>(
  path: string,
  request: MessageCodec<unknown, ReqProps>,
  response: MessageCodec<Res, unknown>,
): UnaryMethod<ReqProps, Res> {
  return { path, request, response };
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

export function callUnary<ReqProps, Res>(
  client: Client,
  method: UnaryMethod<ReqProps, Res>,
  request: ReqProps,
  timeoutMs: number,
  metadata: Metadata = new Metadata(),
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    client.makeUnaryRequest(
      method.path,
      (message: ReqProps) => Buffer.from(method.request.encode(message).finish()),
      (bytes: Buffer) => method.response.decode(bytes),
      request,
      metadata,
      { deadline: Date.now() + timeoutMs },
      (error: ServiceError | null, response?: Res) => {
        if (error !== null || response === undefined) {
          reject(error ?? new Error(`${method.path}: empty response`));
        } else {
          resolve(response);
        }
      },
    );
  });
}
