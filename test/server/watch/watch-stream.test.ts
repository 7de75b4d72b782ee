// The hub and one stream together, without gRPC: creation and ids, live and
// historic delivery, the handoff while applied events are in flight, filters,
// prev_kv, cancel, compaction, rejections and closing.
import { describe, expect, it } from "vitest";
import {
  cancelRequest,
  compactTo,
  createRequest,
  del,
  FakeNode,
  grant,
  openStream,
  put,
  putOp,
  revoke,
  seenEvents,
  txn,
} from "./helpers.js";

const puts = (node: FakeNode, ...pairs: Array<[string, string]>) => {
  for (const [key, value] of pairs) node.commit(put(key, value));
};

describe("creating watchers", () => {
  it("numbers watchers from 0 per stream, honours a free requested id and refuses a taken one", () => {
    const node = new FakeNode();
    const { stream, sink, scheduler } = openStream(node);
    stream.handle(createRequest("a"));
    stream.handle(createRequest("b", { watchId: 7 }));
    stream.handle(createRequest("c"));
    stream.handle(createRequest("d", { watchId: 7 }));
    scheduler.runAll();
    expect(sink.received.map((r) => [r.watchId, r.created, r.canceled])).toEqual([
      [0, true, false],
      [7, true, false],
      [1, true, false],
      [-1, true, true],
    ]);
    expect(sink.received[3]?.cancelReason).toBe(
      "mvcc: duplicate watch ID provided on the WatchStream",
    );
    const other = openStream(node);
    other.stream.handle(createRequest("a"));
    other.scheduler.runAll();
    expect(other.sink.received[0]?.watchId).toBe(0);
  });

  it("refuses an empty range and a negative start with created+canceled, id -1", () => {
    const node = new FakeNode();
    const { stream, sink, scheduler } = openStream(node);
    stream.handle(createRequest("b", { rangeEnd: "a" }));
    stream.handle(createRequest("a", { startRevision: -3 }));
    scheduler.runAll();
    expect(sink.received.map((r) => [r.watchId, r.created, r.canceled, r.cancelReason])).toEqual([
      [-1, true, true, "mvcc: watcher range is empty"],
      [-1, true, true, "etcdserver: mvcc: required revision has been compacted"],
    ]);
    expect(stream.watcherCount).toBe(0);
  });

  it("answers created with the hub's revision in the header", () => {
    const node = new FakeNode();
    puts(node, ["a", "1"], ["a", "2"]);
    const { stream, sink, scheduler } = openStream(node);
    stream.handle(createRequest("a"));
    scheduler.runAll();
    expect(sink.received[0]?.header).toMatchObject({ revision: 3, memberId: 3, clusterId: 7 });
  });
});

describe("delivery", () => {
  it("sends later writes of the watched key, range and prefix in revision order, nothing else", () => {
    const node = new FakeNode();
    const { stream, sink, scheduler } = openStream(node);
    stream.handle(createRequest("a"));
    stream.handle(createRequest("b", { rangeEnd: "d" }));
    stream.handle(createRequest("p/", { rangeEnd: "p0" }));
    stream.handle(createRequest("x", { rangeEnd: "\0" }));
    puts(
      node,
      ["a", "1"],
      ["b", "2"],
      ["c", "3"],
      ["d", "4"],
      ["p/1", "5"],
      ["p0", "6"],
      ["a", "7"],
    );
    node.commit(del("c"));
    scheduler.runAll();
    const keysOf = (id: number) =>
      seenEvents(sink.received, id).map((e) => `${e.type}:${e.key}@${e.mod}`);
    expect(keysOf(0)).toEqual(["put:a@2", "put:a@8"]);
    expect(keysOf(1)).toEqual(["put:b@3", "put:c@4", "delete:c@9"]);
    expect(keysOf(2)).toEqual(["put:p/1@6"]);
    expect(keysOf(3)).toEqual([]);
    for (const response of sink.received) {
      const mods = (response.events ?? []).map((e) => Number(e.kv?.modRevision));
      for (const mod of mods) expect(mod).toBeLessThanOrEqual(Number(response.header?.revision));
    }
  });

  it("replays history from a past start revision and continues live without gap or repeat", () => {
    const node = new FakeNode();
    puts(node, ["a", "1"], ["b", "x"], ["a", "2"], ["a", "3"]);
    const { stream, sink, scheduler } = openStream(node);
    stream.handle(createRequest("a", { startRevision: 3 }));
    puts(node, ["a", "4"]);
    scheduler.runAll();
    puts(node, ["a", "5"]);
    scheduler.runAll();
    expect(seenEvents(sink.received, 0).map((e) => e.value)).toEqual(["2", "3", "4", "5"]);
  });

  it("after a snapshot install, re-reads the revisions it never saw published, then goes on live", () => {
    const node = new FakeNode();
    puts(node, ["a", "1"]);
    const { stream, sink, scheduler } = openStream(node);
    stream.handle(createRequest("a", { rangeEnd: "b" }));
    scheduler.runAll();
    // As on a follower that installs a snapshot: applied, never published one by one.
    node.apply(put("a", "2"));
    node.apply(put("ab", "3"));
    node.inFlight.length = 0;
    node.hub.replaced();
    scheduler.runAll();
    puts(node, ["a", "4"]);
    scheduler.runAll();
    expect(seenEvents(sink.received, 0).map((e) => e.value)).toEqual(["2", "3", "4"]);
  });

  it("keeps a future start waiting and never sends older events (etcd #20221)", () => {
    const node = new FakeNode();
    const { stream, sink, scheduler } = openStream(node);
    stream.handle(createRequest("a", { startRevision: 4 }));
    puts(node, ["a", "1"], ["a", "2"], ["a", "3"], ["a", "4"]);
    scheduler.runAll();
    expect(seenEvents(sink.received, 0).map((e) => e.mod)).toEqual([4, 5]);
  });

  it("filters puts or deletes and attaches prev_kv only when asked", () => {
    const node = new FakeNode();
    const { stream, sink, scheduler } = openStream(node);
    stream.handle(createRequest("a", { noPut: true, prevKv: true }));
    stream.handle(createRequest("a", { noDelete: true }));
    stream.handle(createRequest("a", { prevKv: true }));
    puts(node, ["a", "1"], ["a", "2"]);
    node.commit(del("a"));
    scheduler.runAll();
    expect(seenEvents(sink.received, 0)).toEqual([
      { type: "delete", key: "a", value: "", mod: 4, prev: "2" },
    ]);
    expect(seenEvents(sink.received, 1).map((e) => [e.type, e.value, e.prev])).toEqual([
      ["put", "1", null],
      ["put", "2", null],
    ]);
    expect(seenEvents(sink.received, 2).map((e) => e.prev)).toEqual([null, "1", "2"]);
  });

  it("replays prev_kv from history exactly as the live path sends it", () => {
    const node = new FakeNode();
    puts(node, ["a", "1"], ["a", "2"]);
    node.commit(del("a"));
    puts(node, ["a", "3"]);
    const live = openStream(node);
    live.stream.handle(createRequest("a", { prevKv: true }));
    const history = openStream(node);
    history.stream.handle(createRequest("a", { prevKv: true, startRevision: 6 }));
    node.commit(put("a", "4"));
    node.commit(del("a"));
    live.scheduler.runAll();
    history.scheduler.runAll();
    const replay = openStream(node);
    replay.stream.handle(createRequest("a", { prevKv: true, startRevision: 2 }));
    replay.scheduler.runAll();
    const tail = seenEvents(replay.sink.received, 0).slice(-2);
    expect(tail).toEqual(seenEvents(live.sink.received, 0));
    expect(tail).toEqual(seenEvents(history.sink.received, 0));
    expect(seenEvents(replay.sink.received, 0).map((e) => e.prev)).toEqual([
      null,
      "1",
      "2",
      null,
      "3",
      "4",
    ]);
  });

  it("sends one revision's events together: a txn and a lease revoke are one response each", () => {
    const node = new FakeNode();
    const { stream, sink, scheduler } = openStream(node);
    stream.handle(createRequest("k", { rangeEnd: "l" }));
    node.commit(grant(9, 60));
    const leased = (key: string) => putOp(key, "v", { lease: 9 });
    node.commit(txn([], [leased("k1"), leased("k2"), leased("k3")]));
    node.commit(revoke(9));
    scheduler.runAll();
    const responses = sink.received.filter((r) => (r.events ?? []).length > 0);
    expect(
      responses.map((r) => seenEvents([r], 0).map((e) => `${e.type}:${e.key}@${e.mod}`)),
    ).toEqual([
      ["put:k1@2", "put:k2@2", "put:k3@2"],
      ["delete:k1@3", "delete:k2@3", "delete:k3@3"],
    ]);
  });
});

describe("the handoff while applied batches are in flight", () => {
  it("a watcher from 'now' reports the hub's revision and receives the in-flight batch", () => {
    const node = new FakeNode();
    puts(node, ["a", "1"]);
    node.apply(put("a", "2"));
    const { stream, sink, scheduler } = openStream(node);
    stream.handle(createRequest("a"));
    node.publish();
    scheduler.runAll();
    expect(sink.received[0]?.header?.revision).toBe(2);
    expect(seenEvents(sink.received, 0).map((e) => e.mod)).toEqual([3]);
  });

  it("a history read stops at the hub's revision and the in-flight batch arrives live once", () => {
    const node = new FakeNode();
    puts(node, ["a", "1"], ["a", "2"]);
    node.apply(put("a", "3"));
    node.apply(put("a", "4"));
    const { stream, sink, scheduler } = openStream(node);
    stream.handle(createRequest("a", { startRevision: 2 }));
    scheduler.runAll();
    expect(seenEvents(sink.received, 0).map((e) => e.mod)).toEqual([2, 3]);
    expect(sink.received.at(-1)?.header?.revision).toBe(3);
    node.publish(1);
    scheduler.runAll();
    node.publish();
    scheduler.runAll();
    expect(seenEvents(sink.received, 0).map((e) => e.mod)).toEqual([2, 3, 4, 5]);
  });
});

describe("cancel, compaction and close", () => {
  it("cancels on request, drops the watcher's undelivered events and ignores unknown ids", () => {
    const node = new FakeNode();
    const { stream, sink, scheduler } = openStream(node);
    stream.handle(createRequest("a"));
    scheduler.runAll();
    puts(node, ["a", "1"]);
    stream.handle(cancelRequest(0));
    stream.handle(cancelRequest(42));
    puts(node, ["a", "2"]);
    scheduler.runAll();
    expect(
      sink.received.slice(1).map((r) => [r.watchId, r.canceled, (r.events ?? []).length]),
    ).toEqual([[0, true, 0]]);
    expect(node.hub.syncedCount).toBe(0);
    expect(stream.watcherCount).toBe(0);
  });

  it("a start at or below the compact revision gets created, then canceled with compact_revision", () => {
    const node = new FakeNode();
    puts(node, ["a", "1"], ["a", "2"], ["a", "3"]);
    node.commit(compactTo(3));
    const { stream, sink, scheduler } = openStream(node);
    stream.handle(createRequest("a", { startRevision: 3 }));
    stream.handle(createRequest("a", { startRevision: 4 }));
    scheduler.runAll();
    expect(sink.received.map((r) => [r.watchId, r.created, r.canceled, r.compactRevision])).toEqual(
      [
        [0, true, false, 0],
        [0, false, true, 3],
        [1, true, false, 0],
        [1, false, false, 0],
      ],
    );
    expect(seenEvents(sink.received, 1).map((e) => e.mod)).toEqual([4]);
  });

  it("close detaches every watcher and stops all sending", () => {
    const node = new FakeNode();
    const { stream, sink, scheduler } = openStream(node);
    stream.handle(createRequest("a"));
    stream.handle(createRequest("a", { rangeEnd: "\0" }));
    scheduler.runAll();
    expect(node.hub.syncedCount).toBe(2);
    stream.close();
    puts(node, ["a", "1"]);
    scheduler.runAll();
    expect(node.hub.syncedCount).toBe(0);
    expect(sink.received).toHaveLength(2);
  });
});
