// Watch events returned by apply, and eventsSince's replay of the same events
// from history: order, prev_kv, range filtering, the soft limit that never
// splits a revision, and Compacted once history is gone.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { WatchEvent } from "../../src/state/mvcc/key-value.js";
import type { StateMachine } from "../../src/state/state-machine.js";
import {
  bytes,
  compactTo,
  del,
  delOp,
  end,
  grant,
  plain,
  put,
  putOp,
  revoke,
  run,
  text,
  txn,
} from "./helpers.js";

const shape = (events: readonly WatchEvent[]) =>
  events.map((e) => ({ type: e.type, kv: plain(e.kv), prev: plain(e.prevKv) }));

function since(sm: StateMachine, fromRevision: number, key = "\0", rangeEnd = "\0", limit = 1000) {
  return sm.eventsSince({ fromRevision, key: bytes(key), rangeEnd: end(rangeEnd), limit });
}

describe("events from apply", () => {
  it("a put carries the new kv and the replaced one", () => {
    const { applied } = run([put("a", "1"), put("a", "2")]);
    expect(shape(applied[1]?.events ?? [])).toEqual([
      {
        type: "put",
        kv: { key: "a", value: "2", create: 2, mod: 3, version: 2, lease: 0 },
        prev: { key: "a", value: "1", create: 2, mod: 2, version: 1, lease: 0 },
      },
    ]);
    expect(applied[0]?.events[0]?.prevKv).toBeNull();
  });

  it("a delete event's kv has only the key and the delete revision", () => {
    const { applied } = run([put("a", "1"), del("a")]);
    expect(shape(applied[1]?.events ?? [])).toEqual([
      {
        type: "delete",
        kv: { key: "a", value: "", create: 0, mod: 3, version: 0, lease: 0 },
        prev: { key: "a", value: "1", create: 2, mod: 2, version: 1, lease: 0 },
      },
    ]);
  });

  it("errors and reads produce no events", () => {
    const { applied } = run([put("a", "1", { lease: 9 }), del("none"), grant(1, 5)]);
    expect(applied.every((a) => a.events.length === 0)).toBe(true);
  });
});

describe("eventsSince", () => {
  const stream = () =>
    run([
      put("a", "1"), // 2
      put("b", "1"), // 3
      txn([], [putOp("a", "2"), putOp("c", "1"), delOp("b")]), // 4
      grant(1, 60),
      put("d", "1", { lease: 1 }), // 5
      revoke(1), // 6
    ]);

  it("replays exactly the events apply returned, in revision order", () => {
    const { sm, applied } = stream();
    const live = applied.flatMap((a) => a.events);
    const replay = since(sm, 1);
    expect(replay.kind).toBe("events");
    if (replay.kind !== "events") return;
    expect(shape(replay.events)).toEqual(shape(live));
    expect(replay.nextRevision).toBe(7);
  });

  it("starts at fromRevision and filters by key range", () => {
    const { sm } = stream();
    const fromFour = since(sm, 4);
    expect(fromFour.kind === "events" && fromFour.events.map((e) => text(e.kv.key))).toEqual([
      "a",
      "c",
      "b",
      "d",
      "d",
    ]);
    const onlyA = since(sm, 1, "a", "");
    expect(onlyA.kind === "events" && onlyA.events.map((e) => e.kv.modRevision)).toEqual([2, 4]);
    const bToD = since(sm, 1, "b", "d");
    expect(bToD.kind === "events" && bToD.events.map((e) => text(e.kv.key))).toEqual([
      "b",
      "c",
      "b",
    ]);
  });

  it("the limit is soft at revision boundaries and nextRevision resumes without gaps", () => {
    const { sm, applied } = stream();
    const pages: WatchEvent[] = [];
    let from = 1;
    for (let guard = 0; guard < 10; guard++) {
      const page = since(sm, from, "\0", "\0", 2);
      if (page.kind !== "events") throw new Error("compacted");
      if (page.events.length === 0) break;
      const revisions = new Set(page.events.map((e) => e.kv.modRevision));
      // Each page holds whole revisions: the 3-event txn comes in one page.
      for (const revision of revisions) {
        const all = applied.flatMap((a) => a.events).filter((e) => e.kv.modRevision === revision);
        expect(page.events.filter((e) => e.kv.modRevision === revision)).toHaveLength(all.length);
      }
      pages.push(...page.events);
      from = page.nextRevision;
    }
    expect(shape(pages)).toEqual(shape(applied.flatMap((a) => a.events)));
  });

  it("from a future revision returns nothing and waits there", () => {
    const { sm } = stream();
    expect(since(sm, 50)).toEqual({ kind: "events", events: [], nextRevision: 50 });
  });

  it("at or below the compact revision is Compacted; above it replays what is left", () => {
    const { sm } = stream();
    sm.apply(compactTo(4));
    expect(since(sm, 4)).toEqual({ kind: "error", code: "compacted", compactRevision: 4 });
    expect(since(sm, 1)).toEqual({ kind: "error", code: "compacted", compactRevision: 4 });
    const after = since(sm, 5);
    expect(after.kind === "events" && after.events.map((e) => [e.type, text(e.kv.key)])).toEqual([
      ["put", "d"],
      ["delete", "d"],
    ]);
  });

  it("prev_kv survives compaction when the previous value is the one kept", () => {
    const { sm } = run([put("a", "1"), put("x", "1"), put("a", "2"), compactTo(3)]);
    const events = since(sm, 4);
    expect(events.kind === "events" && plain(events.events[0]?.prevKv)?.value).toBe("1");
  });

  it("property: paging through history with any limit equals the live event stream", () => {
    const op = fc.oneof(
      fc
        .record({ key: fc.constantFrom("a", "b", "c"), value: fc.string({ maxLength: 2 }) })
        .map(({ key, value }) => put(key, value)),
      fc.constantFrom("a", "b").map((key) => del(key, "\0")),
      fc.constantFrom("a", "b").map((key) => txn([], [putOp(key, "t"), delOp("c")])),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), fc.integer({ min: 1, max: 4 }), (ops, limit) => {
        const { sm, applied } = run(ops);
        const paged: WatchEvent[] = [];
        let from = 1;
        for (let guard = 0; guard <= ops.length + 1; guard++) {
          const page = since(sm, from, "\0", "\0", limit);
          if (page.kind !== "events" || page.events.length === 0) break;
          paged.push(...page.events);
          from = page.nextRevision;
        }
        expect(shape(paged)).toEqual(shape(applied.flatMap((a) => a.events)));
      }),
      { numRuns: 150 },
    );
  });
});
