// Client-side Maintenance.Snapshot over a fake transport: chunks reach the
// sink in order with the stream paused while each is written; a member that
// fails mid-stream is replaced by the next one from scratch (the sink is
// reset); a final error, a stall and exhausting every endpoint all fail.
import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { Cairn } from "../../src/client/client.js";
import type { SnapshotSink } from "../../src/client/snapshot.js";
import { type FakeStream, FakeTransport, grpcError } from "./fake-transport.js";

function setup() {
  const transport = new FakeTransport(["a:1", "b:2"], () => {
    throw new Error("no unary calls expected");
  });
  return { cairn: new Cairn({ endpoints: transport.endpoints, transport }), transport };
}

/** Collects what is written; each write stays pending until `release()`. */
class SlowSink implements SnapshotSink {
  bytes: number[] = [];
  resets = 0;
  private pending: Array<() => void> = [];

  async reset(): Promise<void> {
    this.resets++;
    this.bytes = [];
  }

  write(chunk: Uint8Array): Promise<void> {
    return new Promise((resolve) => {
      this.pending.push(() => {
        this.bytes.push(...chunk);
        resolve();
      });
    });
  }

  /** Completes the writes waiting now, once at least `count` are waiting. */
  async release(count = 1): Promise<void> {
    await until(() => this.pending.length >= count);
    for (const done of this.pending.splice(0)) done();
  }
}

const chunk = (...bytes: number[]) => ({
  header: { revision: 9 },
  blob: Uint8Array.from(bytes),
});

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !condition(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  expect(condition()).toBe(true);
}

const stream = (transport: FakeTransport, i: number) =>
  transport.streams[i] as FakeStream<unknown, unknown>;

describe("client snapshot stream", () => {
  it("writes chunks in order, pausing the stream while the sink writes, without hasleader", async () => {
    const { cairn, transport } = setup();
    const sink = new SlowSink();
    const saved = cairn.snapshot(sink);
    await until(() => transport.streams.length === 1);
    expect(transport.calls[0]?.path).toBe("/etcdserverpb.Maintenance/Snapshot");
    expect(transport.calls[0]?.metadata.hasleader).toBeUndefined();
    stream(transport, 0).push(chunk(1, 2));
    expect(stream(transport, 0).paused).toBe(true);
    await sink.release();
    await until(() => !stream(transport, 0).paused);
    stream(transport, 0).push(chunk(3));
    stream(transport, 0).push(chunk()); // the empty last message
    stream(transport, 0).finish();
    await until(() => sink.bytes.length === 2);
    await sink.release();
    expect(await saved).toEqual({ endpoint: "a:1", bytes: 3, revision: 9 });
    expect(sink.bytes).toEqual([1, 2, 3]);
    cairn.close();
  });

  it("starts over on the next member when one fails mid-stream", async () => {
    const { cairn, transport } = setup();
    const sink = new SlowSink();
    const saved = cairn.snapshot(sink);
    await until(() => transport.streams.length === 1);
    stream(transport, 0).push(chunk(7, 7));
    await sink.release();
    await until(() => sink.bytes.length === 2);
    stream(transport, 0).fail(grpcError(status.UNAVAILABLE, "Connection dropped"));
    await until(() => transport.streams.length === 2);
    expect(stream(transport, 1).endpoint).toBe(1);
    expect(sink.resets).toBe(1);
    stream(transport, 1).push(chunk(1));
    await sink.release();
    await until(() => sink.bytes.length === 1);
    stream(transport, 1).finish();
    expect(await saved).toMatchObject({ endpoint: "b:2", bytes: 1 });
    expect(sink.bytes).toEqual([1]);
    cairn.close();
  });

  it("fails at once on a final error, and after every member failed", async () => {
    const { cairn, transport } = setup();
    const denied = cairn.snapshot(new SlowSink());
    await until(() => transport.streams.length === 1);
    stream(transport, 0).fail(grpcError(status.PERMISSION_DENIED, "no"));
    await expect(denied).rejects.toMatchObject({ code: status.PERMISSION_DENIED });
    expect(transport.streams).toHaveLength(1);

    const down = cairn.snapshot(new SlowSink());
    for (const i of [1, 2]) {
      await until(() => transport.streams.length === i + 1);
      stream(transport, i).fail(grpcError(status.UNAVAILABLE, "No connection established"));
    }
    await expect(down).rejects.toMatchObject({ code: status.UNAVAILABLE });
    cairn.close();
  });

  it("gives up on a member that stops sending", async () => {
    const { cairn, transport } = setup();
    const stalled = cairn.snapshot(new SlowSink(), { idleTimeoutMs: 20 });
    await expect(stalled).rejects.toMatchObject({
      code: status.DEADLINE_EXCEEDED,
      details: "no snapshot data from the member for 20 ms",
    });
    expect(transport.streams.every((s) => s.cancelled)).toBe(true);
    expect(transport.streams.map((s) => s.endpoint)).toEqual([0, 1]);
    cairn.close();
  });
});
