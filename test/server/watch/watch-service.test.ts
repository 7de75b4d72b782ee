// The Watch service over real gRPC in one process: a fake member (a real
// state machine whose batches are published on demand) behind a grpc-js
// server, driven by the npm etcd3 client and by a raw stream. Covers what the
// fakes cannot: gRPC flow control on a client that stops reading, hasleader,
// the leaderless-stream monitor, cancellation cleanup and shutdown.
import {
  Client,
  type ClientDuplexStream,
  credentials,
  Metadata,
  Server,
  ServerCredentials,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { Etcd3, type IKeyValue } from "etcd3";
import { afterEach, describe, expect, it } from "vitest";
import type { etcdserverpb } from "../../../src/gen/etcd.js";
import {
  registerWatchService,
  WATCH_SERVICE,
  type WatchService,
} from "../../../src/server/watch/watch-service.js";
import type { WatchStreamLimits } from "../../../src/server/watch/watch-stream.js";
import type { Command } from "../../../src/state/command.js";
import type { WatchEvent } from "../../../src/state/index.js";
import { StateMachine } from "../../../src/state/state-machine.js";
import { compactTo, createRequest, HEADERS, put, seenEvents } from "./helpers.js";

class Member {
  readonly stateMachine = new StateMachine();
  leaderId = 1;
  private readonly applied: Array<(events: readonly WatchEvent[], revision: number) => void> = [];

  onApplied(listener: (events: readonly WatchEvent[], revision: number) => void): void {
    this.applied.push(listener);
  }

  onLeadership(): void {}

  onStateReplaced(): void {}

  commit(...commands: Command[]): void {
    for (const command of commands) {
      const { events } = this.stateMachine.apply(command);
      const revision = this.stateMachine.kv.revision;
      if (events.length > 0) for (const listener of this.applied) listener(events, revision);
    }
  }
}

interface Running {
  member: Member;
  service: WatchService;
  address: string;
  server: Server;
}

const running: Running[] = [];
const closers: Array<() => void> = [];

async function start(
  limits: Partial<WatchStreamLimits> = {},
  electionTimeoutMs = 1000,
  streamsMax?: number,
): Promise<Running> {
  const member = new Member();
  const server = new Server();
  const service = registerWatchService(server, {
    node: member,
    headers: HEADERS,
    config: { maxRequestBytes: 1024 * 1024, electionTimeoutMs },
    limits,
    ...(streamsMax === undefined ? {} : { streamsMax }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  const started = { member, service, address: `127.0.0.1:${port}`, server };
  running.push(started);
  return started;
}

afterEach(() => {
  for (const close of closers.splice(0)) close();
  for (const { service, server } of running.splice(0)) {
    service.close();
    server.forceShutdown();
  }
});

function etcd3(address: string): Etcd3 {
  const client = new Etcd3({ hosts: address });
  closers.push(() => client.close());
  return client;
}

/** A raw Watch stream: responses land in `received`; `ended` settles with the final status. */
function rawStream(address: string, metadata = new Metadata()) {
  const client = new Client(address, credentials.createInsecure());
  const call: ClientDuplexStream<
    etcdserverpb.WatchRequest.$Properties,
    etcdserverpb.WatchResponse
  > = client.makeBidiStreamRequest(
    WATCH_SERVICE.Watch.path,
    WATCH_SERVICE.Watch.requestSerialize,
    WATCH_SERVICE.Watch.responseDeserialize,
    metadata,
  );
  const received: etcdserverpb.WatchResponse[] = [];
  call.on("data", (response: etcdserverpb.WatchResponse) => received.push(response));
  const ended = new Promise<ServiceError | null>((resolve) => {
    call.on("error", (error: ServiceError) => resolve(error));
    call.on("end", () => resolve(null));
  });
  closers.push(() => {
    call.cancel();
    client.close();
  });
  return { call, received, ended };
}

function within<T>(promise: Promise<T>, what: string, timeoutMs = 3000): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs),
    ),
  ]);
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("Watch over gRPC with the etcd3 client", () => {
  it("streams puts and deletes of a prefix with prev_kv, and cleans up on cancel", async () => {
    const { member, service, address } = await start();
    const client = etcd3(address);
    const watcher = await client.watch().prefix("app/").withPreviousKV().create();
    const seen: string[] = [];
    watcher.on("put", (kv: IKeyValue, prev?: IKeyValue) =>
      seen.push(`put ${kv.key} ${kv.value} prev=${prev?.value ?? "-"}`),
    );
    watcher.on("delete", (kv: IKeyValue, prev?: IKeyValue) =>
      seen.push(`delete ${kv.key} prev=${prev?.value ?? "-"}`),
    );
    member.commit(put("app/a", "1"), put("other", "x"), put("app/a", "2"));
    member.commit({
      v: 1,
      id: 99,
      at: 0,
      kind: "delete-range",
      key: Buffer.from("app/a"),
      rangeEnd: new Uint8Array(0),
      prevKv: false,
    });
    await until(() => seen.length === 3, "three events");
    expect(seen).toEqual(["put app/a 1 prev=-", "put app/a 2 prev=1", "delete app/a prev=2"]);
    expect(service.hub.syncedCount).toBe(1);
    await watcher.cancel();
    expect(service.hub.syncedCount).toBe(0);
  });

  it("reports a watch from a compacted revision as an error on the watcher", async () => {
    const { member, address } = await start();
    member.commit(put("a", "1"), put("a", "2"), put("a", "3"), compactTo(3));
    const client = etcd3(address);
    const watcher = client.watch().key("a").startRevision("2").watcher();
    const failure = new Promise<Error>((resolve) => watcher.on("error", resolve));
    const connected = new Promise<void>((resolve) => watcher.on("connected", () => resolve()));
    await connected;
    expect((await failure).message).toMatch(/required revision has been compacted/);
  });
});

describe("Watch over a raw gRPC stream", () => {
  it("refuses a hasleader stream with 'no leader' when the member has none", async () => {
    const { member, address } = await start();
    member.leaderId = 0;
    const metadata = new Metadata();
    metadata.set("hasleader", "true");
    const { ended } = rawStream(address, metadata);
    const error = await within(ended, "the stream to fail");
    expect(error?.code).toBe(status.UNAVAILABLE);
    expect(error?.details).toBe("etcdserver: no leader");
  });

  it("ends hasleader streams after three leaderless election timeouts, others stay", async () => {
    const { member, service, address } = await start({}, 40);
    const metadata = new Metadata();
    metadata.set("hasleader", "true");
    const strict = rawStream(address, metadata);
    const lenient = rawStream(address);
    strict.call.write(createRequest("a"));
    lenient.call.write(createRequest("a"));
    await until(() => strict.received.length === 1 && lenient.received.length === 1, "created");
    member.leaderId = 0;
    const error = await within(strict.ended, "the hasleader stream to end");
    expect(error?.details).toBe("etcdserver: no leader");
    expect(service.streamCount).toBe(1);
    member.commit(put("a", "1"));
    await until(() => lenient.received.length === 2, "the lenient stream's event");
  });

  it("sends progress_notify responses at the configured interval", async () => {
    const { address } = await start({ progressNotifyIntervalMs: 100 });
    const { call, received } = rawStream(address);
    call.write(createRequest("a", { progressNotify: true }));
    await until(() => received.length >= 3, "two progress notifications", 3000);
    expect(received.slice(1, 3).map((r) => [r.watchId, r.events.length])).toEqual([
      [0, 0],
      [0, 0],
    ]);
  });

  it("unsyncs a watcher whose client stops reading, then delivers everything once it reads", async () => {
    const { member, service, address } = await start({ bufferEventsMax: 64 });
    const { call, received } = rawStream(address);
    call.write(createRequest("big", { prevKv: true }));
    await until(() => received.length === 1, "created");
    call.pause();
    const value = "v".repeat(16 * 1024);
    const writes = 600;
    for (let i = 0; i < writes; i++) {
      member.commit(put("big", `${i}:${value}`));
      if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    // The member kept applying; the watcher fell out of the live index instead of buffering.
    await until(() => service.hub.syncedCount === 0, "the watcher to be unsynced");
    call.resume();
    await until(() => seenEvents(received, 0).length === writes, "every event", 15_000);
    const order = seenEvents(received, 0).map((e) => Number(e.value.split(":")[0]));
    expect(order).toEqual(Array.from({ length: writes }, (_, i) => i));
    await until(() => service.hub.syncedCount === 1, "the watcher to be live again");
  });

  it("refuses a stream past the member's bound with 'too many requests'; others keep working", async () => {
    const { member, service, address } = await start({}, 1000, 2);
    const first = rawStream(address);
    const second = rawStream(address);
    first.call.write(createRequest("a"));
    second.call.write(createRequest("a"));
    await until(() => first.received.length === 1 && second.received.length === 1, "created");
    const third = rawStream(address);
    const error = await within(third.ended, "the third stream to be refused");
    expect(error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(error?.details).toBe("etcdserver: too many requests");
    expect(service.streamCount).toBe(2);
    member.commit(put("a", "1"));
    await until(() => first.received.length === 2 && second.received.length === 2, "events");
    first.call.cancel();
    await until(() => service.streamCount === 1, "the first stream to close");
    const fourth = rawStream(address);
    fourth.call.write(createRequest("a"));
    await until(() => fourth.received.length === 1, "a stream within the bound again");
  });

  it("drops a stream's watchers when the client goes away", async () => {
    const { service, address } = await start();
    const { call, received } = rawStream(address);
    call.write(createRequest("a"));
    call.write(createRequest("b", { rangeEnd: "\0" }));
    await until(() => received.length === 2, "both created");
    expect(service.hub.syncedCount).toBe(2);
    call.cancel();
    await until(() => service.streamCount === 0, "the stream to close");
    expect(service.hub.syncedCount).toBe(0);
  });

  it("closing the service ends open streams with 'server stopped'", async () => {
    const { service, address } = await start();
    const { call, received, ended } = rawStream(address);
    call.write(createRequest("a"));
    await until(() => received.length === 1, "created");
    service.close();
    const error = await within(ended, "the stream to end");
    expect(error?.code).toBe(status.UNAVAILABLE);
    expect(error?.details).toBe("etcdserver: server stopped");
    expect(service.streamCount).toBe(0);
    expect(service.hub.syncedCount).toBe(0);
  });
});
