// Flow control and progress on one stream, without gRPC: a slow client makes
// its watchers unsynced and they catch up from history; compaction while
// behind cancels; progress requests wait until the stream is synced (etcd
// #15220); periodic progress_notify; fragments; control-request backpressure.
import { afterEach, describe, expect, it, vi } from "vitest";
import { etcdserverpb } from "../../../src/gen/etcd.js";
import {
  compactTo,
  createRequest,
  FakeNode,
  FakeSink,
  openStream,
  progressRequest,
  put,
  seenEvents,
} from "./helpers.js";

const SMALL = { bufferEventsMax: 4, bufferBytesMax: 1 << 20 };

describe("a slow client", () => {
  it("unsyncs its watcher past the buffer bound without blocking, then catches up exactly", () => {
    const node = new FakeNode();
    const sink = new FakeSink(1);
    const { stream, scheduler } = openStream(node, { sink, limits: SMALL });
    stream.handle(createRequest("a"));
    scheduler.runAll();
    for (let i = 1; i <= 20; i++) node.commit(put("a", String(i)));
    scheduler.runAll();
    expect(stream.unsyncedCount).toBe(1);
    expect(node.hub.syncedCount).toBe(0);
    // At most the bound is held for it, however many writes happen.
    expect(stream.queuedResponses).toBeLessThanOrEqual(SMALL.bufferEventsMax);
    for (let round = 0; round < 50 && stream.unsyncedCount + stream.queuedResponses > 0; round++) {
      sink.deliver();
      scheduler.runAll();
      if (round === 3) node.commit(put("a", "21"));
    }
    sink.deliver();
    expect(stream.unsyncedCount).toBe(0);
    expect(node.hub.syncedCount).toBe(1);
    const values = seenEvents(sink.received, 0).map((e) => Number(e.value));
    expect(values).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    node.commit(put("a", "22"));
    scheduler.runAll();
    sink.deliver();
    expect(seenEvents(sink.received, 0).at(-1)?.value).toBe("22");
  });

  it("is canceled with compact_revision when history it still needs is compacted", () => {
    const node = new FakeNode();
    const sink = new FakeSink(1);
    const { stream, scheduler } = openStream(node, { sink, limits: SMALL });
    stream.handle(createRequest("a"));
    scheduler.runAll();
    for (let i = 1; i <= 20; i++) node.commit(put("a", String(i)));
    scheduler.runAll();
    node.commit(compactTo(15));
    for (let round = 0; round < 20; round++) {
      sink.deliver();
      scheduler.runAll();
    }
    const last = sink.received.at(-1);
    expect(last).toMatchObject({ watchId: 0, canceled: true, compactRevision: 15 });
    const values = seenEvents(sink.received, 0).map((e) => Number(e.value));
    expect(values).toEqual(Array.from({ length: values.length }, (_, i) => i + 1));
    expect(values.length).toBeLessThan(14);
    expect(stream.watcherCount).toBe(0);
  });

  it("holds at most the stream-wide byte bound for all its watchers together", () => {
    const node = new FakeNode();
    const sink = new FakeSink(1);
    const limits = { bufferEventsMax: 64, streamBytesMax: 2000 };
    const { stream, scheduler } = openStream(node, { sink, limits });
    for (let i = 0; i < 20; i++) stream.handle(createRequest("a"));
    scheduler.runAll();
    let peakBytes = 0;
    for (let i = 1; i <= 50; i++) {
      node.commit(put("a", String(i)));
      scheduler.runAll();
      peakBytes = Math.max(peakBytes, stream.queuedBytes);
    }
    expect(peakBytes).toBeLessThanOrEqual(limits.streamBytesMax);
    expect(stream.unsyncedCount).toBeGreaterThan(10);
    for (let round = 0; round < 500 && stream.unsyncedCount + stream.queuedResponses > 0; round++) {
      sink.deliver();
      scheduler.runAll();
      peakBytes = Math.max(peakBytes, stream.queuedBytes);
    }
    sink.deliver();
    // Catch-up reads start below half the bound and add at most half a watcher buffer each.
    expect(peakBytes).toBeLessThanOrEqual(limits.streamBytesMax * 2);
    for (let id = 0; id < 20; id++) {
      const values = seenEvents(sink.received, id).map((e) => Number(e.value));
      expect(values, `watcher ${id}`).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    }
  });

  it("pauses reading requests while control responses pile up, and resumes after a drain", () => {
    const node = new FakeNode();
    const sink = new FakeSink(1);
    const { stream, scheduler } = openStream(node, { sink, limits: { controlQueuedMax: 4 } });
    for (let i = 0; i < 6; i++) stream.handle(createRequest(`k${i}`));
    expect(sink.paused).toBe(true);
    for (let round = 0; round < 10; round++) {
      scheduler.runAll();
      sink.deliver();
    }
    expect(sink.paused).toBe(false);
    expect(sink.received.map((r) => r.watchId)).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

describe("progress", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("answers a progress request at once when synced, with watch_id -1 and the hub revision", () => {
    const node = new FakeNode();
    node.commit(put("a", "1"));
    const { stream, sink, scheduler } = openStream(node);
    stream.handle(progressRequest());
    stream.handle(createRequest("a"));
    node.apply(put("a", "2"));
    stream.handle(progressRequest());
    scheduler.runAll();
    expect(sink.received.map((r) => [r.watchId, Number(r.header?.revision)])).toEqual([
      [-1, 2],
      [0, 2],
      [-1, 2],
    ]);
  });

  it("waits while a watcher is unsynced, answers once after its events, folding repeats", () => {
    const node = new FakeNode();
    for (let i = 1; i <= 10; i++) node.commit(put("a", String(i)));
    const sink = new FakeSink(1);
    const { stream, scheduler } = openStream(node, { sink, limits: SMALL });
    stream.handle(createRequest("a", { startRevision: 2 }));
    stream.handle(progressRequest());
    stream.handle(progressRequest());
    for (let round = 0; round < 30; round++) {
      scheduler.runAll();
      sink.deliver();
    }
    const progress = sink.received.filter((r) => r.watchId === -1);
    expect(progress).toHaveLength(1);
    const at = sink.received.indexOf(progress[0] as etcdserverpb.WatchResponse);
    const before = seenEvents(sink.received.slice(0, at), 0).map((e) => e.mod);
    expect(before).toEqual(Array.from({ length: 10 }, (_, i) => i + 2));
    expect(Number(progress[0]?.header?.revision)).toBe(11);
  });

  it("sends periodic progress_notify to idle synced watchers only, skipping after events", () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const node = new FakeNode();
    const { stream, sink, scheduler } = openStream(node, {
      limits: { progressNotifyIntervalMs: 100 },
    });
    stream.handle(createRequest("a", { progressNotify: true }));
    stream.handle(createRequest("b"));
    scheduler.runAll();
    vi.advanceTimersByTime(100);
    scheduler.runAll();
    node.commit(put("a", "1"));
    scheduler.runAll();
    vi.advanceTimersByTime(100);
    scheduler.runAll();
    vi.advanceTimersByTime(100);
    scheduler.runAll();
    const shape = sink.received.slice(2).map((r) => [r.watchId, (r.events ?? []).length]);
    expect(shape).toEqual([
      [0, 0],
      [0, 1],
      [0, 0],
    ]);
    expect(Number(sink.received.at(-1)?.header?.revision)).toBe(2);
    stream.close();
  });
});

describe("fragments", () => {
  const bigRevision = (node: FakeNode) => {
    const value = "x".repeat(300);
    const ops = Array.from({ length: 10 }, (_, i) => ({
      kind: "put" as const,
      key: Buffer.from(`k${i}`),
      value: Buffer.from(value),
      lease: 0,
      prevKv: false,
      ignoreValue: false,
      ignoreLease: false,
    }));
    node.commit({ v: 1, id: 1, at: 0, kind: "txn", compare: [], success: ops, failure: [] });
  };

  it("splits a revision over the limit into pieces when asked; the last one ends the set", () => {
    const node = new FakeNode();
    const { stream, sink, scheduler } = openStream(node, { limits: { fragmentBytesMax: 1000 } });
    stream.handle(createRequest("k", { rangeEnd: "l", fragment: true }));
    bigRevision(node);
    scheduler.runAll();
    const pieces = sink.received.slice(1);
    expect(pieces.length).toBeGreaterThan(2);
    expect(pieces.map((p) => p.fragment)).toEqual([...pieces.map(() => true).slice(1), false]);
    for (const piece of pieces) {
      expect(etcdserverpb.WatchResponse.encode(piece).finish().byteLength).toBeLessThan(1000);
    }
    expect(seenEvents(pieces, 0).map((e) => e.key)).toEqual(
      Array.from({ length: 10 }, (_, i) => `k${i}`),
    );
  });

  it("never splits a revision for a watcher that did not ask", () => {
    const node = new FakeNode();
    const { stream, sink, scheduler } = openStream(node, { limits: { fragmentBytesMax: 1000 } });
    stream.handle(createRequest("k", { rangeEnd: "l" }));
    bigRevision(node);
    scheduler.runAll();
    expect(sink.received).toHaveLength(2);
    expect(sink.received[1]?.events).toHaveLength(10);
  });
});
