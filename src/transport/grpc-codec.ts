// Generic glue between pbjs static message classes and grpc-js: method and
// service definitions for the four call kinds, typed server handlers and typed
// client calls, so the peer port and the client-facing services wire up alike.

import type {
  CallOptions,
  Client,
  ClientDuplexStream,
  ClientReadableStream,
  ClientWritableStream,
  handleBidiStreamingCall,
  handleClientStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
  Server,
  ServiceError,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { Metadata } from "@grpc/grpc-js";
import { assert } from "../util/assert.js";

/**
 * What a pbjs static class offers: `encode` takes the plain properties
 * interface (TWrite), `decode` returns the class instance (TRead).
 */
export interface MessageCodec<TWrite, TRead> {
  encode(message: TWrite): { finish(): Uint8Array };
  decode(bytes: Uint8Array): TRead;
}

/** Identity codec for methods whose handlers frame and validate bytes themselves. */
export const RAW_BYTES: MessageCodec<Uint8Array, Uint8Array> = {
  encode: (bytes) => ({ finish: () => bytes }),
  decode: (bytes) => bytes,
};

export type CallKind = "unary" | "serverStream" | "clientStream" | "bidi";

/**
 * A grpc-js MethodDefinition that remembers its call kind and both sides'
 * types: requests are written as ReqW and read as ReqR, responses likewise.
 */
export interface TypedMethod<K extends CallKind, ReqW, ReqR, ResW, ResR> {
  readonly kind: K;
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  readonly requestSerialize: (value: ReqW) => Buffer;
  readonly requestDeserialize: (bytes: Buffer) => ReqR;
  readonly responseSerialize: (value: ResW) => Buffer;
  readonly responseDeserialize: (bytes: Buffer) => ResR;
}

/** Wraps without copying: protobufjs already returns a Buffer under Node. */
function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const METHOD_PATH = /^\/[A-Za-z_][\w.]*\/[A-Za-z_]\w*$/;

function defineMethod<K extends CallKind, ReqW, ReqR, ResW, ResR>(
  kind: K,
  path: string,
  request: MessageCodec<ReqW, ReqR>,
  response: MessageCodec<ResW, ResR>,
): TypedMethod<K, ReqW, ReqR, ResW, ResR> {
  assert(
    METHOD_PATH.test(path),
    `gRPC method path must look like /pkg.Service/Method, got ${path}`,
  );
  return {
    kind,
    path,
    requestStream: kind === "clientStream" || kind === "bidi",
    responseStream: kind === "serverStream" || kind === "bidi",
    // grpc-js turns a throwing deserializer into an INTERNAL status, not a crash.
    requestSerialize: (value) => toBuffer(request.encode(value).finish()),
    requestDeserialize: (bytes) => request.decode(bytes),
    responseSerialize: (value) => toBuffer(response.encode(value).finish()),
    responseDeserialize: (bytes) => response.decode(bytes),
  };
}

export function unaryMethod<ReqW, ReqR, ResW, ResR>(
  path: string,
  request: MessageCodec<ReqW, ReqR>,
  response: MessageCodec<ResW, ResR>,
): TypedMethod<"unary", ReqW, ReqR, ResW, ResR> {
  return defineMethod("unary", path, request, response);
}

export function serverStreamMethod<ReqW, ReqR, ResW, ResR>(
  path: string,
  request: MessageCodec<ReqW, ReqR>,
  response: MessageCodec<ResW, ResR>,
): TypedMethod<"serverStream", ReqW, ReqR, ResW, ResR> {
  return defineMethod("serverStream", path, request, response);
}

export function clientStreamMethod<ReqW, ReqR, ResW, ResR>(
  path: string,
  request: MessageCodec<ReqW, ReqR>,
  response: MessageCodec<ResW, ResR>,
): TypedMethod<"clientStream", ReqW, ReqR, ResW, ResR> {
  return defineMethod("clientStream", path, request, response);
}

export function bidiMethod<ReqW, ReqR, ResW, ResR>(
  path: string,
  request: MessageCodec<ReqW, ReqR>,
  response: MessageCodec<ResW, ResR>,
): TypedMethod<"bidi", ReqW, ReqR, ResW, ResR> {
  return defineMethod("bidi", path, request, response);
}

/** The server-side handler type grpc-js expects for a method of this kind. */
export type HandlerFor<M> =
  M extends TypedMethod<"unary", infer _ReqW, infer ReqR, infer ResW, infer _ResR>
    ? handleUnaryCall<ReqR, ResW>
    : M extends TypedMethod<"serverStream", infer _ReqW, infer ReqR, infer ResW, infer _ResR>
      ? handleServerStreamingCall<ReqR, ResW>
      : M extends TypedMethod<"clientStream", infer _ReqW, infer ReqR, infer ResW, infer _ResR>
        ? handleClientStreamingCall<ReqR, ResW>
        : M extends TypedMethod<"bidi", infer _ReqW, infer ReqR, infer ResW, infer _ResR>
          ? handleBidiStreamingCall<ReqR, ResW>
          : never;

/** A service is a record of typed methods keyed by the method's short name. */
export type ServiceHandlers<S> = { readonly [Name in keyof S]: HandlerFor<S[Name]> };

/** server.addService with handlers checked against each method's kind and types. */
export function addTypedService<S extends object>(
  server: Server,
  service: S,
  handlers: ServiceHandlers<S>,
): void {
  for (const name of Object.keys(service)) {
    assert(name in handlers, `no handler for method ${name}`);
  }
  // The definition and handlers are structurally what grpc-js wants; its own
  // types are untyped (any) here, so one cast at this single seam.
  server.addService(
    service as Parameters<Server["addService"]>[0],
    handlers as unknown as UntypedServiceImplementation,
  );
}

// ---------------------------------------------------------------- client calls

/** One unary call as a promise; rejects with the grpc-js ServiceError (code, details). */
export function callUnary<ReqW, ReqR, ResW, ResR>(
  client: Client,
  method: TypedMethod<"unary", ReqW, ReqR, ResW, ResR>,
  request: ReqW,
  options: CallOptions = {},
  metadata: Metadata = new Metadata(),
): Promise<ResR> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      metadata,
      options,
      (error: ServiceError | null, response?: ResR) => {
        if (error) reject(error);
        else if (response === undefined) reject(new Error(`${method.path}: empty response`));
        else resolve(response);
      },
    );
  });
}

export function openServerStream<ReqW, ReqR, ResW, ResR>(
  client: Client,
  method: TypedMethod<"serverStream", ReqW, ReqR, ResW, ResR>,
  request: ReqW,
  options: CallOptions = {},
  metadata: Metadata = new Metadata(),
): ClientReadableStream<ResR> {
  return client.makeServerStreamRequest(
    method.path,
    method.requestSerialize,
    method.responseDeserialize,
    request,
    metadata,
    options,
  );
}

/** A client-streaming call: write requests to `call`, end it, await `response`. */
export function openClientStream<ReqW, ReqR, ResW, ResR>(
  client: Client,
  method: TypedMethod<"clientStream", ReqW, ReqR, ResW, ResR>,
  options: CallOptions = {},
  metadata: Metadata = new Metadata(),
): { call: ClientWritableStream<ReqW>; response: Promise<ResR> } {
  let settle: (error: ServiceError | null, response?: ResR) => void = () => {};
  const response = new Promise<ResR>((resolve, reject) => {
    settle = (error, value) => {
      if (error) reject(error);
      else if (value === undefined) reject(new Error(`${method.path}: empty response`));
      else resolve(value);
    };
  });
  const call = client.makeClientStreamRequest(
    method.path,
    method.requestSerialize,
    method.responseDeserialize,
    metadata,
    options,
    (error: ServiceError | null, value?: ResR) => settle(error, value),
  );
  return { call, response };
}

export function openBidiStream<ReqW, ReqR, ResW, ResR>(
  client: Client,
  method: TypedMethod<"bidi", ReqW, ReqR, ResW, ResR>,
  options: CallOptions = {},
  metadata: Metadata = new Metadata(),
): ClientDuplexStream<ReqW, ResR> {
  return client.makeBidiStreamRequest(
    method.path,
    method.requestSerialize,
    method.responseDeserialize,
    metadata,
    options,
  );
}
