// Raw-gRPC helpers for the cairn.v1 e2e suites: one channel per member, calls
// with a bearer token, server streams collected into a queue a test can await,
// and a status matcher. Only the generated codecs and the server's method
// tables are used, so these tests see exactly what any client sees.
import {
  Client,
  type ClientReadableStream,
  credentials,
  Metadata,
  type ServiceError,
} from "@grpc/grpc-js";
import { expect } from "vitest";
import type { cairn } from "../../src/gen/cairn.js";
import { USERS_SERVICE } from "../../src/server/platform/users.js";
import { callUnary, openServerStream, type TypedMethod } from "../../src/transport/grpc-codec.js";
import type { TestCluster } from "./harness.js";

export const PASSWORD = "correct horse battery";
const CALL_TIMEOUT_MS = 10_000;

export function bearer(token: string): Metadata {
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  return metadata;
}

/** Channels to every member of a cluster; `via(i)` picks member i mod size. */
export class Channels {
  readonly clients: Client[];

  constructor(cluster: TestCluster) {
    this.clients = cluster.members.map((m) => new Client(m.client, credentials.createInsecure()));
  }

  via(i: number): Client {
    return this.clients[i % this.clients.length] as Client;
  }

  close(): void {
    for (const client of this.clients) client.close();
  }
}

/** A signed-in user: calls carry its token; `member` picks the channel. */
export class Session {
  constructor(
    readonly channels: Channels,
    readonly username: string,
    readonly token: string,
  ) {}

  call<ReqW, ReqR, ResW, ResR>(
    method: TypedMethod<"unary", ReqW, ReqR, ResW, ResR>,
    request: ReqW,
    member = 0,
    timeoutMs = CALL_TIMEOUT_MS,
  ): Promise<ResR> {
    return callUnary(
      this.channels.via(member),
      method,
      request,
      { deadline: Date.now() + timeoutMs },
      bearer(this.token),
    );
  }

  stream<ReqW, ReqR, ResW, ResR>(
    method: TypedMethod<"serverStream", ReqW, ReqR, ResW, ResR>,
    request: ReqW,
    member = 0,
  ): StreamQueue<ResR> {
    return new StreamQueue(
      openServerStream(this.channels.via(member), method, request, {}, bearer(this.token)),
    );
  }
}

/** Registers (no token: the first user becomes admin) and logs in. */
export async function signUp(
  channels: Channels,
  username: string,
  options: { by?: Session; roles?: cairn.v1.Role[]; member?: number } = {},
): Promise<Session> {
  const member = options.member ?? 0;
  const request = {
    username,
    password: PASSWORD,
    email: `${username}@example.com`,
    roles: options.roles ?? [],
  };
  if (options.by === undefined) {
    await callUnary(channels.via(member), USERS_SERVICE.Register, request);
  } else {
    await options.by.call(USERS_SERVICE.Register, request, member);
  }
  return logIn(channels, username, member);
}

export async function logIn(channels: Channels, username: string, member = 0): Promise<Session> {
  const login = await callUnary(channels.via(member), USERS_SERVICE.Login, {
    username,
    password: PASSWORD,
  });
  return new Session(channels, username, login.token);
}

/** Responses of a server stream in arrival order; `next` waits for the next one. */
export class StreamQueue<T> {
  private readonly items: T[] = [];
  private waiting: { resolve: (item: T) => void; reject: (error: Error) => void } | null = null;
  error: ServiceError | null = null;

  constructor(readonly call: ClientReadableStream<T>) {
    call.on("data", (item: T) => {
      const waiter = this.waiting;
      this.waiting = null;
      if (waiter !== null) waiter.resolve(item);
      else this.items.push(item);
    });
    call.on("error", (error: ServiceError) => {
      this.error = error;
      this.waiting?.reject(error);
      this.waiting = null;
    });
  }

  next(timeoutMs = CALL_TIMEOUT_MS): Promise<T> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    if (this.error !== null) return Promise.reject(this.error);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        reject(new Error(`no stream response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
  }

  cancel(): void {
    this.call.on("error", () => undefined);
    this.call.cancel();
  }
}

/** Expects the call to fail with `code` and a message matching `pattern`. */
export async function expectStatus(
  call: Promise<unknown>,
  code: number,
  pattern?: RegExp,
): Promise<ServiceError> {
  const error = (await call.then(
    () => {
      throw new Error(`expected status ${code}, the call succeeded`);
    },
    (e: unknown) => e,
  )) as ServiceError;
  expect(error.code, error.details).toBe(code);
  if (pattern !== undefined) expect(error.details).toMatch(pattern);
  return error;
}

/** A valid server spec for Create/Update requests. */
export function serverSpec(
  overrides: Partial<cairn.v1.ServerSpec.$Properties> = {},
): cairn.v1.ServerSpec.$Properties {
  return {
    image: "ubuntu:24.04",
    cpu: 2,
    memoryMib: 2048,
    diskGib: 20,
    bandwidthMbps: 100,
    hostname: "web-1",
    ...overrides,
  };
}
