// The generic grpc-js helpers, driven through all four call kinds over real
// loopback gRPC with pbjs message classes (borrowed from the raft proto).

import {
  Client,
  credentials,
  Server,
  ServerCredentials,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cairn } from "../../src/gen/raft.js";
import { wireUint } from "../../src/transport/codec.js";
import {
  addTypedService,
  bidiMethod,
  callUnary,
  clientStreamMethod,
  openBidiStream,
  openClientStream,
  openServerStream,
  RAW_BYTES,
  serverStreamMethod,
  unaryMethod,
} from "../../src/transport/grpc-codec.js";

const { MessageBatch, StreamAck } = cairn.raft.v1;

const ECHO = {
  Ping: unaryMethod("/cairn.test.v1.Echo/Ping", MessageBatch, StreamAck),
  Count: serverStreamMethod("/cairn.test.v1.Echo/Count", MessageBatch, StreamAck),
  Sum: clientStreamMethod("/cairn.test.v1.Echo/Sum", MessageBatch, StreamAck),
  Echo: bidiMethod("/cairn.test.v1.Echo/Echo", MessageBatch, StreamAck),
} as const;

const UNLUCKY = 13;

/** uint64 fields decode as Long today despite --force-number (see codec.ts wireUint). */
function n(value: unknown): number {
  return wireUint(value, "test");
}

let server: Server;
let client: Client;
let port: number;

beforeAll(async () => {
  server = new Server();
  addTypedService(server, ECHO, {
    Ping: (call, callback) => {
      const pingId = n(call.request.pingId);
      if (pingId === UNLUCKY) callback({ code: status.INVALID_ARGUMENT, details: "unlucky" });
      else callback(null, { pingId: pingId + call.request.messages.length });
    },
    Count: (call) => {
      for (let i = 1; i <= n(call.request.pingId); i++) call.write({ pingId: i });
      call.end();
    },
    Sum: (call, callback) => {
      let sum = 0;
      call.on("data", (batch: cairn.raft.v1.MessageBatch) => {
        sum += n(batch.pingId);
      });
      call.on("end", () => callback(null, { pingId: sum }));
    },
    Echo: (call) => {
      call.on("data", (batch: cairn.raft.v1.MessageBatch) =>
        call.write({ pingId: n(batch.pingId) * 2 }),
      );
      call.on("end", () => call.end());
    },
  });
  port = await new Promise<number>((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
  client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
});

afterAll(() => {
  client.close();
  server.forceShutdown();
});

function collect<T>(stream: NodeJS.ReadableStream): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const items: T[] = [];
    stream.on("data", (item: T) => items.push(item));
    stream.on("end", () => resolve(items));
    stream.on("error", reject);
  });
}

describe("grpc-codec", () => {
  it("unary: encodes the request and decodes the response with the pbjs classes", async () => {
    const response = await callUnary(client, ECHO.Ping, { pingId: 40, messages: [{}, {}] });
    expect(response).toBeInstanceOf(StreamAck);
    expect(n(response.pingId)).toBe(42);
  });

  it("unary: a handler's error status reaches the caller as a ServiceError", async () => {
    const error = (await callUnary(client, ECHO.Ping, { pingId: UNLUCKY }).catch(
      (e) => e,
    )) as ServiceError;
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).toBe("unlucky");
  });

  it("server stream: yields every response in order", async () => {
    const responses = await collect<cairn.raft.v1.StreamAck>(
      openServerStream(client, ECHO.Count, { pingId: 5 }),
    );
    expect(responses.map((r) => n(r.pingId))).toEqual([1, 2, 3, 4, 5]);
  });

  it("client stream: sends many requests, awaits one response", async () => {
    const { call, response } = openClientStream(client, ECHO.Sum);
    for (const pingId of [1, 2, 3, 4]) call.write({ pingId });
    call.end();
    expect(n((await response).pingId)).toBe(10);
  });

  it("bidi: requests and responses interleave on one stream", async () => {
    const call = openBidiStream(client, ECHO.Echo);
    const responses = collect<cairn.raft.v1.StreamAck>(call);
    for (const pingId of [1, 2, 3]) call.write({ pingId });
    call.end();
    expect((await responses).map((r) => n(r.pingId))).toEqual([2, 4, 6]);
  });

  it("an undecodable request becomes an INTERNAL status and the server keeps serving", async () => {
    const raw = unaryMethod("/cairn.test.v1.Echo/Ping", RAW_BYTES, StreamAck);
    const garbage = Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0x0f);
    const error = (await callUnary(client, raw, garbage).catch((e) => e)) as ServiceError;
    expect(error.code).toBe(status.INTERNAL);
    expect(error.details).toMatch(/deserializ/i);
    expect(n((await callUnary(client, ECHO.Ping, { pingId: 1 })).pingId)).toBe(1);
  });

  it("refuses malformed method paths and services missing a handler", () => {
    expect(() => unaryMethod("Echo/Ping", MessageBatch, StreamAck)).toThrow(/method path/);
    const partial = { Ping: ECHO.Ping, Sum: ECHO.Sum };
    const handlers = { Ping: () => {} } as unknown as Parameters<
      typeof addTypedService<typeof partial>
    >[2];
    expect(() => addTypedService(new Server(), partial, handlers)).toThrow(
      /no handler for method Sum/,
    );
  });
});
