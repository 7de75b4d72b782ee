// A scripted stand-in for GrpcTransport: unary calls go to a handler the test
// writes (answer or throw per endpoint and method), streams are objects the
// test pushes messages and failures into. Every call is recorded.
import { status } from "@grpc/grpc-js";
import type { StreamMethod, UnaryMethod } from "../../src/client/rpc.js";
import type {
  AttemptOptions,
  StreamCall,
  StreamHandlers,
  Transport,
} from "../../src/client/transport.js";

export interface RecordedCall {
  readonly endpoint: number;
  readonly path: string;
  readonly request: unknown;
  readonly metadata: Readonly<Record<string, string>>;
}

export type UnaryHandler = (call: RecordedCall, options: AttemptOptions) => unknown;

/** A gRPC failure as grpc-js reports it: an Error with code and details. */
export function grpcError(
  code: status,
  details: string,
): Error & { code: number; details: string } {
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details });
}

export class FakeStream<Req, Res> implements StreamCall<Req> {
  readonly written: Req[] = [];
  cancelled = false;
  ended = false;
  paused = false;
  private done = false;

  constructor(
    readonly endpoint: number,
    readonly path: string,
    readonly request: unknown,
    private readonly handlers: StreamHandlers<Res>,
    private readonly onWrite: (stream: FakeStream<Req, Res>, message: Req) => void,
  ) {}

  push(message: Res): void {
    if (!this.done && !this.cancelled) this.handlers.onMessage(message);
  }

  fail(error: unknown): void {
    if (this.done || this.cancelled) return;
    this.done = true;
    this.handlers.onError(error);
  }

  finish(): void {
    if (this.done || this.cancelled) return;
    this.done = true;
    this.handlers.onEnd();
  }

  write(message: Req): boolean {
    this.written.push(message);
    this.onWrite(this, message);
    return true;
  }

  end(): void {
    this.ended = true;
  }

  cancel(): void {
    this.cancelled = true;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }
}

export class FakeTransport implements Transport {
  readonly calls: RecordedCall[] = [];
  readonly streams: FakeStream<unknown, unknown>[] = [];
  closed = false;
  /** Answers bidi writes (keep-alive); default: echo the lease with TTL 10. */
  onBidiWrite: (stream: FakeStream<unknown, unknown>, message: unknown) => void = (
    stream,
    message,
  ) => {
    const id = (message as { ID: number }).ID;
    queueMicrotask(() => stream.push({ ID: id, TTL: 10 }));
  };

  constructor(
    readonly endpoints: readonly string[],
    public handler: UnaryHandler,
  ) {}

  async unary<Req, Res>(
    endpoint: number,
    method: UnaryMethod<Req, Res>,
    request: Req,
    options: AttemptOptions,
  ): Promise<Res> {
    const call = { endpoint, path: method.path, request, metadata: options.metadata };
    this.calls.push(call);
    await Promise.resolve();
    return (await this.handler(call, options)) as Res;
  }

  serverStream<Req, Res>(
    endpoint: number,
    method: StreamMethod<Req, Res>,
    request: Req,
    metadata: Readonly<Record<string, string>>,
    handlers: StreamHandlers<Res>,
  ): StreamCall<never> {
    this.calls.push({ endpoint, path: method.path, request, metadata });
    const stream = new FakeStream<never, Res>(endpoint, method.path, request, handlers, () => {});
    this.streams.push(stream as unknown as FakeStream<unknown, unknown>);
    return stream;
  }

  bidi<Req, Res>(
    endpoint: number,
    method: StreamMethod<Req, Res>,
    metadata: Readonly<Record<string, string>>,
    handlers: StreamHandlers<Res>,
  ): StreamCall<Req> {
    this.calls.push({ endpoint, path: method.path, request: null, metadata });
    const stream = new FakeStream<Req, Res>(endpoint, method.path, null, handlers, (s, m) =>
      this.onBidiWrite(s as FakeStream<unknown, unknown>, m),
    );
    this.streams.push(stream as unknown as FakeStream<unknown, unknown>);
    return stream;
  }

  close(): void {
    this.closed = true;
  }

  callsTo(path: string): RecordedCall[] {
    return this.calls.filter((call) => call.path === path);
  }
}
