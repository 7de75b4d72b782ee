// Property test of the catch-up/live handoff: random interleavings of applies,
// publishes of in-flight batches, watcher creations at random start revisions
// (past, now, future), slow clients, cancels, compactions and progress
// requests over two streams. Every watcher must see exactly the events of its
// range from its start, in revision order, with no gap and no duplicate
// (a canceled one: a prefix of them), and a progress reply at revision h must
// come after every event <= h of every watcher on its stream.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { WatchEvent } from "../../../src/state/index.js";
import { assertNever } from "../../../src/util/assert.js";
import {
  type CreateOptions,
  cancelRequest,
  compactTo,
  createRequest,
  del,
  expectedEvents,
  FakeNode,
  FakeSink,
  openStream,
  progressRequest,
  put,
  putOp,
  type SeenEvent,
  seenEvents,
  txn,
} from "./helpers.js";

const KEYS = ["a", "b", "c", "d"] as const;
const STREAMS = 2;

type Range = { key: string; rangeEnd: string };
const RANGES: readonly Range[] = [
  { key: "a", rangeEnd: "" },
  { key: "c", rangeEnd: "" },
  { key: "a", rangeEnd: "c" },
  { key: "b", rangeEnd: "\0" },
  { key: "", rangeEnd: "\0" },
];

type Action =
  | { kind: "put"; key: string; value: number }
  | { kind: "delete"; key: string }
  | { kind: "txn"; keys: string[] }
  | { kind: "publish" }
  | { kind: "compact"; back: number }
  | {
      kind: "create";
      stream: number;
      range: number;
      start: { at: "now" } | { at: "past"; back: number } | { at: "future"; ahead: number };
      prevKv: boolean;
      filter: "none" | "noPut" | "noDelete";
    }
  | { kind: "cancel"; stream: number; pick: number }
  | { kind: "progress"; stream: number }
  | { kind: "step"; stream: number }
  | { kind: "deliver"; stream: number };

const key = fc.constantFrom(...KEYS);
const stream = fc.integer({ min: 0, max: STREAMS - 1 });
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    arbitrary: fc.record({ kind: fc.constant("put" as const), key, value: fc.nat(99) }),
    weight: 6,
  },
  { arbitrary: fc.record({ kind: fc.constant("delete" as const), key }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant("txn" as const),
      keys: fc.uniqueArray(key, { minLength: 1, maxLength: 3 }),
    }),
    weight: 1,
  },
  { arbitrary: fc.record({ kind: fc.constant("publish" as const) }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant("compact" as const), back: fc.nat(6) }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant("create" as const),
      stream,
      range: fc.nat(RANGES.length - 1),
      start: fc.oneof(
        fc.constant({ at: "now" as const }),
        fc.record({ at: fc.constant("past" as const), back: fc.nat(12) }),
        fc.record({ at: fc.constant("future" as const), ahead: fc.integer({ min: 1, max: 4 }) }),
      ),
      prevKv: fc.boolean(),
      filter: fc.constantFrom("none" as const, "noPut" as const, "noDelete" as const),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({ kind: fc.constant("cancel" as const), stream, pick: fc.nat(9) }),
    weight: 1,
  },
  { arbitrary: fc.record({ kind: fc.constant("progress" as const), stream }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("step" as const), stream }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant("deliver" as const), stream }), weight: 4 },
);

interface Created {
  stream: number;
  id: number;
  range: Range;
  options: CreateOptions;
}

function inRangeOracle(range: Range, k: string): boolean {
  const start = range.key === "" ? "\0" : range.key;
  if (range.rangeEnd === "") return k === start;
  if (range.rangeEnd === "\0") return k >= start;
  return k >= start && k < range.rangeEnd;
}

class Harness {
  readonly node = new FakeNode();
  readonly streams = Array.from({ length: STREAMS }, (_, i) =>
    openStream(this.node, {
      sink: new FakeSink(1 + i),
      // Stream 1 also hits its stream-wide byte bound (events are ~50 bytes).
      limits: { bufferEventsMax: 3 + i, catchUpReadsPerTurnMax: 1, streamBytesMax: 400 + i * 1e9 },
    }),
  );
  readonly created: Created[] = [];
  private readonly nextId = [0, 0];
  private nextValue = 0;

  run(step: Action): void {
    const node = this.node;
    const target = "stream" in step ? this.streams[step.stream] : undefined;
    switch (step.kind) {
      case "put":
        node.apply(put(step.key, `${step.value}.${this.nextValue++}`));
        break;
      case "delete":
        node.apply(del(step.key));
        break;
      case "txn":
        node.apply(
          txn(
            [],
            step.keys.map((k) => putOp(k, `t${this.nextValue++}`)),
          ),
        );
        break;
      case "publish":
        node.publish(1);
        break;
      case "compact":
        node.apply(compactTo(Math.max(1, node.hub.revision - step.back)));
        break;
      case "create":
        this.create(step);
        break;
      case "cancel": {
        const mine = this.created.filter((c) => c.stream === step.stream);
        const victim = mine[step.pick % Math.max(1, mine.length)];
        if (victim !== undefined) target?.stream.handle(cancelRequest(victim.id));
        break;
      }
      case "progress":
        target?.stream.handle(progressRequest());
        break;
      case "step":
        target?.scheduler.step();
        break;
      case "deliver":
        target?.sink.deliver();
        break;
      default:
        assertNever(step, "action");
    }
  }

  private create(step: Extract<Action, { kind: "create" }>): void {
    const range = RANGES[step.range] as Range;
    const revision = this.node.hub.revision;
    const startRevision =
      step.start.at === "now"
        ? 0
        : step.start.at === "past"
          ? Math.max(1, revision - step.start.back)
          : revision + step.start.ahead;
    const options: CreateOptions = {
      rangeEnd: range.rangeEnd,
      startRevision,
      prevKv: step.prevKv,
      noPut: step.filter === "noPut",
      noDelete: step.filter === "noDelete",
    };
    this.streams[step.stream]?.stream.handle(createRequest(range.key, options));
    const id = this.nextId[step.stream] ?? 0;
    this.nextId[step.stream] = id + 1;
    this.created.push({ stream: step.stream, id, range, options });
  }

  /** Publishes everything and lets every client read until nothing moves. */
  settle(): void {
    this.node.publish();
    for (let round = 0; round < 10_000; round++) {
      let moved = false;
      for (const s of this.streams) {
        while (s.scheduler.step()) moved = true;
        const before = s.sink.received.length;
        s.sink.deliver();
        moved ||= s.sink.received.length !== before;
      }
      if (!moved) return;
    }
    throw new Error("streams never settled");
  }

  expected(watcher: Created, startRevision: number): SeenEvent[] {
    const { range, options } = watcher;
    const wanted = (event: WatchEvent) =>
      inRangeOracle(range, Buffer.from(event.kv.key).toString("latin1")) &&
      event.kv.modRevision >= startRevision &&
      !(options.noPut === true && event.type === "put") &&
      !(options.noDelete === true && event.type === "delete");
    return expectedEvents(this.node.allEvents, wanted, options.prevKv === true);
  }
}

function checkWatcher(harness: Harness, watcher: Created): void {
  const received = harness.streams[watcher.stream]?.sink.received ?? [];
  const mine = received.filter((r) => r.watchId === watcher.id);
  const created = mine[0];
  expect(created?.created, `watcher ${watcher.stream}/${watcher.id} created first`).toBe(true);
  const requested = watcher.options.startRevision ?? 0;
  const start = requested === 0 ? Number(created?.header?.revision) + 1 : requested;
  const expected = harness.expected(watcher, start);
  const got = seenEvents(received, watcher.id);
  const canceled = mine.find((r) => r.canceled === true);
  for (const response of mine) {
    for (const event of response.events ?? []) {
      expect(Number(event.kv?.modRevision)).toBeLessThanOrEqual(Number(response.header?.revision));
    }
  }
  if (canceled === undefined) {
    expect(got, `watcher ${watcher.stream}/${watcher.id} from ${start}`).toEqual(expected);
    return;
  }
  expect(mine.at(-1)).toBe(canceled);
  expect(got).toEqual(expected.slice(0, got.length));
  const compactRevision = Number(canceled.compactRevision ?? 0);
  if (compactRevision > 0) {
    for (const event of got) expect(event.mod).toBeLessThanOrEqual(compactRevision);
  }
}

/** A progress reply at h (watch_id -1) must follow every event <= h of its stream's live watchers. */
function checkProgress(harness: Harness, streamIndex: number): void {
  const received = harness.streams[streamIndex]?.sink.received ?? [];
  received.forEach((response, at) => {
    if (response.watchId !== -1 || response.created === true) return;
    const h = Number(response.header?.revision);
    const before = received.slice(0, at);
    for (const watcher of harness.created.filter((c) => c.stream === streamIndex)) {
      const mine = before.filter((r) => r.watchId === watcher.id);
      const created = mine[0];
      if (created === undefined || mine.some((r) => r.canceled === true)) continue;
      const requested = watcher.options.startRevision ?? 0;
      const start = requested === 0 ? Number(created.header?.revision) + 1 : requested;
      const due = harness.expected(watcher, start).filter((e) => e.mod <= h);
      const canceledLater = received.slice(at).some((r) => r.watchId === watcher.id && r.canceled);
      if (canceledLater) continue;
      expect(seenEvents(before, watcher.id).slice(0, due.length), `progress at ${h}`).toEqual(due);
    }
  });
}

describe("watch handoff between history and live events", () => {
  it("delivers every watcher exactly its events, in order, whatever the interleaving", () => {
    fc.assert(
      fc.property(fc.array(action, { minLength: 20, maxLength: 120, size: "max" }), (actions) => {
        const harness = new Harness();
        harness.node.apply(put("a", "seed"));
        harness.node.publish();
        for (const step of actions) harness.run(step);
        harness.settle();
        for (const watcher of harness.created) checkWatcher(harness, watcher);
        for (let s = 0; s < STREAMS; s++) checkProgress(harness, s);
        // Nothing may be left behind: every surviving watcher is live again.
        for (const s of harness.streams) expect(s.stream.unsyncedCount).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
