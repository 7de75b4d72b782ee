// The seam between the client's policies (retry, failover, keep-alive,
// watches) and the wire. `GrpcTransport` speaks gRPC to one channel per
// endpoint; unit tests substitute a fake with scripted answers. The transport
// never retries: one call here is one attempt on one endpoint.
import { type Client, type ClientReadableStream, Metadata, type ServiceError } from "@grpc/grpc-js";
import {
  deserializer,
  openChannel,
  type StreamMethod,
  serializer,
  type UnaryMethod,
} from "./rpc.js";

export interface AttemptOptions {
  /** Absolute deadline of this attempt, ms since the epoch. */
  readonly deadlineAtMs: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

/** Callbacks of a streaming call; exactly one of onError/onEnd ends it, unless cancelled. */
export interface StreamHandlers<Res> {
  readonly onMessage: (message: Res) => void;
  readonly onError: (error: unknown) => void;
  readonly onEnd: () => void;
}

export interface StreamCall<Req> {
  /** Bidi only; false means the send buffer is full (flow control). */
  write(message: Req): boolean;
  /** Half-closes a bidi stream. */
  end(): void;
  /** Cancels the call; no handler runs after this. */
  cancel(): void;
  pause(): void;
  resume(): void;
}

export interface Transport {
  readonly endpoints: readonly string[];
  unary<Req, Res>(
    endpoint: number,
    method: UnaryMethod<Req, Res>,
    request: Req,
    options: AttemptOptions,
  ): Promise<Res>;
  serverStream<Req, Res>(
    endpoint: number,
    method: StreamMethod<Req, Res>,
    request: Req,
    metadata: Readonly<Record<string, string>>,
    handlers: StreamHandlers<Res>,
  ): StreamCall<never>;
  bidi<Req, Res>(
    endpoint: number,
    method: StreamMethod<Req, Res>,
    metadata: Readonly<Record<string, string>>,
    handlers: StreamHandlers<Res>,
  ): StreamCall<Req>;
  close(): void;
}

function toMetadata(entries: Readonly<Record<string, string>>): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(entries)) metadata.set(key, value);
  return metadata;
}

/**
 * Wires a grpc-js stream to handlers so that exactly one terminal callback
 * runs. A duplex stream is passed as its readable side, which it shares.
 */
function wireStream<Res>(
  stream: ClientReadableStream<Res>,
  handlers: StreamHandlers<Res>,
): () => void {
  let finished = false;
  stream.on("data", (message: Res) => {
    if (!finished) handlers.onMessage(message);
  });
  stream.on("error", (error: ServiceError) => {
    if (finished) return;
    finished = true;
    handlers.onError(error);
  });
  stream.on("end", () => {
    if (finished) return;
    finished = true;
    handlers.onEnd();
  });
  return () => {
    if (finished) return;
    finished = true;
    stream.cancel();
  };
}

export class GrpcTransport implements Transport {
  private readonly channels: Client[];

  constructor(readonly endpoints: readonly string[]) {
    if (endpoints.length === 0) {
      throw new Error("at least one endpoint (host:port) is required");
    }
    // etcd prints endpoints as URLs; grpc-js wants host:port.
    this.channels = endpoints.map((endpoint) => openChannel(endpoint.replace(/^https?:\/\//, "")));
  }

  unary<Req, Res>(
    endpoint: number,
    method: UnaryMethod<Req, Res>,
    request: Req,
    options: AttemptOptions,
  ): Promise<Res> {
    const channel = this.channel(endpoint);
    return new Promise<Res>((resolve, reject) => {
      const call = channel.makeUnaryRequest(
        method.path,
        serializer(method.request),
        deserializer(method.response),
        request,
        toMetadata(options.metadata),
        { deadline: options.deadlineAtMs },
        (error: ServiceError | null, response?: Res) => {
          options.signal?.removeEventListener("abort", cancel);
          if (error !== null || response === undefined) {
            reject(error ?? new Error(`${method.path}: empty response`));
          } else {
            resolve(response);
          }
        },
      );
      const cancel = (): void => call.cancel();
      options.signal?.addEventListener("abort", cancel, { once: true });
    });
  }

  serverStream<Req, Res>(
    endpoint: number,
    method: StreamMethod<Req, Res>,
    request: Req,
    metadata: Readonly<Record<string, string>>,
    handlers: StreamHandlers<Res>,
  ): StreamCall<never> {
    const stream = this.channel(endpoint).makeServerStreamRequest(
      method.path,
      serializer(method.request),
      deserializer(method.response),
      request,
      toMetadata(metadata),
    );
    const cancel = wireStream(stream, handlers);
    return {
      write: () => false,
      end: () => {},
      cancel,
      pause: () => stream.pause(),
      resume: () => stream.resume(),
    };
  }

  bidi<Req, Res>(
    endpoint: number,
    method: StreamMethod<Req, Res>,
    metadata: Readonly<Record<string, string>>,
    handlers: StreamHandlers<Res>,
  ): StreamCall<Req> {
    const stream = this.channel(endpoint).makeBidiStreamRequest(
      method.path,
      serializer(method.request),
      deserializer(method.response),
      toMetadata(metadata),
    );
    const cancel = wireStream(stream as unknown as ClientReadableStream<Res>, handlers);
    return {
      write: (message: Req) => stream.write(message),
      end: () => stream.end(),
      cancel,
      pause: () => stream.pause(),
      resume: () => stream.resume(),
    };
  }

  close(): void {
    for (const channel of this.channels) channel.close();
  }

  private channel(endpoint: number): Client {
    const channel = this.channels[endpoint];
    if (channel === undefined) {
      throw new RangeError(`no endpoint #${endpoint}; there are ${this.channels.length}`);
    }
    return channel;
  }
}
