// Resumable watches over a fake transport: a failed stream reconnects to the
// next endpoint resuming after the last delivered sequence, final errors end
// the iteration (after what was already queued), the queue is bounded by
// pausing the stream, and reconnects are bounded too.
import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { Cairn } from "../../src/client/client.js";
import { CairnRpcError } from "../../src/client/errors.js";
import type { OpLogRecord } from "../../src/client/types.js";
import { FakeTransport, grpcError } from "./fake-transport.js";

function setup() {
  const transport = new FakeTransport(["a:1", "b:2", "c:3"], () => {
    throw new Error("no unary calls expected");
  });
  const cairn = new Cairn({
    endpoints: transport.endpoints,
    transport,
    backoff: { baseMs: 1, maxMs: 2 },
  });
  return { cairn, transport };
}

const record = (sequence: number) => ({
  sequence,
  revision: 100 + sequence,
  actor: "alice",
  action: "resource.start",
  target: "resource/srv-1",
  outcome: "ok",
});

async function take<T>(iterator: AsyncIterator<T>, count: number): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i++) {
    const next = await iterator.next();
    if (next.done === true) break;
    out.push(next.value);
  }
  return out;
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !condition(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  expect(condition()).toBe(true);
}

describe("watch streams", () => {
  it("resumes on the next endpoint after the last sequence it delivered", async () => {
    const { cairn, transport } = setup();
    const watch = cairn.opLog.watch({ sinceSequence: 5, filter: { actor: "alice" } });
    const iterator = watch[Symbol.asyncIterator]();
    expect(transport.streams[0]?.request).toMatchObject({
      sinceSequence: 5,
      filter: { actor: "alice" },
    });
    transport.streams[0]?.push({ records: [record(5), record(6)] });
    expect((await take(iterator, 2)).map((r: OpLogRecord) => r.sequence)).toEqual([5, 6]);
    transport.streams[0]?.fail(grpcError(status.UNAVAILABLE, "Connection dropped"));
    await until(() => transport.streams.length === 2);
    expect(transport.streams[1]?.endpoint).toBe(1);
    expect(transport.streams[1]?.request).toMatchObject({ sinceSequence: 7 });
    transport.streams[1]?.push({ records: [record(7)] });
    expect((await take(iterator, 1))[0]?.sequence).toBe(7);
    watch.close();
    expect(transport.streams[1]?.cancelled).toBe(true);
    expect((await iterator.next()).done).toBe(true);
  });

  it("resumes a resource watch after the last event's sequence", async () => {
    const { cairn, transport } = setup();
    const watch = cairn.resources.watch({ resourceId: "srv-1" });
    const iterator = watch[Symbol.asyncIterator]();
    transport.streams[0]?.push({
      events: [
        {
          type: 1,
          revision: 9,
          sequence: 31,
          resource: { id: "srv-1", kind: 1, status: 1, name: "web" },
        },
      ],
    });
    const [event] = await take(iterator, 1);
    expect(event).toMatchObject({
      type: "created",
      sequence: 31,
      resource: { id: "srv-1", kind: "server", status: "provisioning" },
    });
    transport.streams[0]?.finish(); // a clean end the server should not send: reconnect too
    await until(() => transport.streams.length === 2);
    expect(transport.streams[1]?.request).toMatchObject({ resourceId: "srv-1", sinceSequence: 32 });
    watch.close();
  });

  it("ends with the server's final error, after delivering what was queued", async () => {
    const { cairn, transport } = setup();
    const iterator = cairn.opLog.watch()[Symbol.asyncIterator]();
    transport.streams[0]?.push({ records: [record(1)] });
    transport.streams[0]?.fail(
      grpcError(status.FAILED_PRECONDITION, "sequence 1 was dropped by retention"),
    );
    expect((await iterator.next()).value).toMatchObject({ sequence: 1 });
    const error = await iterator.next().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CairnRpcError);
    expect(error).toMatchObject({ code: status.FAILED_PRECONDITION });
    expect(transport.streams).toHaveLength(1);
  });

  it("pauses the stream when the reader falls behind, and resumes it when drained", async () => {
    const { cairn, transport } = setup();
    const iterator = cairn.opLog.watch({ queueMax: 4 })[Symbol.asyncIterator]();
    const stream = transport.streams[0];
    for (let i = 1; i <= 4; i++) stream?.push({ records: [record(i)] });
    expect(stream?.paused).toBe(true);
    await take(iterator, 2);
    expect(stream?.paused).toBe(false);
  });

  it("gives up after a bounded number of failed reconnects in a row", async () => {
    const { cairn, transport } = setup();
    const iterator = cairn.opLog.watch({ reconnectsMax: 3 })[Symbol.asyncIterator]();
    const failing = (async () => {
      for (let i = 0; i < 10; i++) {
        await until(() => transport.streams.length > i);
        transport.streams[i]?.fail(grpcError(status.UNAVAILABLE, "No connection established"));
        if (i >= 3) return;
      }
    })();
    await expect(iterator.next()).rejects.toMatchObject({ code: status.UNAVAILABLE });
    await failing;
    expect(transport.streams).toHaveLength(4);
  });

  it("reports when the server confirmed the watch, or that it never did", async () => {
    const { cairn, transport } = setup();
    const watch = cairn.opLog.watch();
    let started = false;
    void watch.started.then(() => {
      started = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(started).toBe(false);
    transport.streams[0]?.push({ records: [] }); // the server's confirmation
    await watch.started;
    watch.close();
    const refused = cairn.opLog.watch();
    transport.streams[1]?.fail(grpcError(status.PERMISSION_DENIED, "needs oplog.read"));
    await expect(refused.started).rejects.toMatchObject({ code: status.PERMISSION_DENIED });
    const closed = cairn.opLog.watch();
    closed.close();
    await expect(closed.started).rejects.toThrow(/closed/);
  });

  it("stops on the caller's AbortSignal", async () => {
    const { cairn, transport } = setup();
    const controller = new AbortController();
    const iterator = cairn.opLog.watch({ signal: controller.signal })[Symbol.asyncIterator]();
    const pending = iterator.next();
    controller.abort();
    await expect(pending).rejects.toThrow(/aborted/);
    expect(transport.streams[0]?.cancelled).toBe(true);
  });
});
