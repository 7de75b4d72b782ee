// etcd's revision rules (reference/etcd-v3.md §3 "Revisions" and
// "Compaction"), one test per rule: init, act, check.
import { describe, expect, it } from "vitest";
import { KV_TABLE } from "../../src/state/mvcc/mvcc-store.js";
import { StateMachine } from "../../src/state/state-machine.js";
import {
  compactTo,
  del,
  grant,
  keysOf,
  okOf,
  plain,
  put,
  query,
  rangeOk,
  rangeOp,
  run,
  txn,
} from "./helpers.js";

const at = (sm: StateMachine, key: string, revision = 0) =>
  plain(rangeOk(sm.range(query(key, "", { revision }))).kvs[0]);

describe("revisions", () => {
  it("an empty store is at revision 1 and each put bumps it by one", () => {
    const sm = new StateMachine();
    expect(sm.kv.revision).toBe(1);
    expect(okOf(sm.apply(put("a", "1")), "put").revision).toBe(2);
    expect(okOf(sm.apply(put("b", "1")), "put").revision).toBe(3);
    expect(sm.kv.revision).toBe(3);
  });

  it("create_revision is the creation, mod_revision the last change, version counts puts", () => {
    const sm = new StateMachine();
    sm.apply(put("a", "1"));
    sm.apply(put("b", "x"));
    sm.apply(put("a", "2"));
    expect(at(sm, "a")).toEqual({ key: "a", value: "2", create: 2, mod: 4, version: 2, lease: 0 });
  });

  it("reads and no-op deletes do not bump the revision and write nothing", () => {
    const sm = new StateMachine();
    sm.apply(put("a", "1"));
    const noop = sm.apply(del("zzz"));
    expect(okOf(noop, "delete-range")).toEqual({ revision: 2, deleted: 0, prevKvs: [] });
    expect(noop.writes).toEqual([]);
    const readOnly = sm.apply(txn([], [rangeOp("a")]));
    expect(okOf(readOnly, "txn").revision).toBe(2);
    expect(readOnly.writes).toEqual([]);
    expect(sm.kv.revision).toBe(2);
  });

  it("a delete that removes several keys is one revision", () => {
    const { sm, applied } = run([put("a", "1"), put("b", "2"), put("c", "3"), del("a", "\0")]);
    expect(okOf(applied[3], "delete-range")).toMatchObject({ revision: 5, deleted: 3 });
    expect(sm.kv.revision).toBe(5);
    expect(sm.kv.history.slice(-3).map((v) => [v.kv.modRevision, v.sub])).toEqual([
      [5, 0],
      [5, 1],
      [5, 2],
    ]);
  });

  it("a delete leaves a tombstone; re-creating resets version and create_revision", () => {
    const { sm } = run([put("a", "1"), put("a", "2"), del("a"), put("a", "3")]);
    const tombstone = sm.kv.history[2];
    expect(tombstone?.tombstone).toBe(true);
    expect(plain(tombstone?.kv)).toEqual({
      key: "a",
      value: "",
      create: 0,
      mod: 4,
      version: 0,
      lease: 0,
    });
    expect(at(sm, "a")).toEqual({ key: "a", value: "3", create: 5, mod: 5, version: 1, lease: 0 });
  });

  it("history is readable at every revision until compaction", () => {
    const { sm } = run([put("a", "1"), put("a", "2"), del("a"), put("a", "3")]);
    expect(at(sm, "a", 1)).toBeUndefined();
    expect(at(sm, "a", 2)?.value).toBe("1");
    expect(at(sm, "a", 3)?.value).toBe("2");
    expect(at(sm, "a", 4)).toBeUndefined();
    expect(at(sm, "a", 5)).toMatchObject({ value: "3", version: 1 });
  });

  it("header.revision of a historic read is the current revision", () => {
    const { sm } = run([put("a", "1"), put("a", "2")]);
    expect(rangeOk(sm.range(query("a", "", { revision: 2 }))).revision).toBe(3);
  });

  it("a revision above the current one is a FutureRev error", () => {
    const { sm } = run([put("a", "1")]);
    expect(sm.range(query("a", "", { revision: 3 }))).toEqual({
      kind: "error",
      code: "future-rev",
    });
    expect(sm.range(query("a", "", { revision: 2 })).kind).toBe("range");
  });

  it("prev_kv is returned only when asked for", () => {
    const { applied } = run([put("k", "old"), put("k", "mid"), put("k", "new", { prevKv: true })]);
    expect(okOf(applied[1], "put").prevKv).toBeNull();
    expect(plain(okOf(applied[2], "put").prevKv)).toMatchObject({ value: "mid", version: 2 });
  });
});

describe("put options", () => {
  it("ignore_value on a missing key fails with key-not-found and writes nothing", () => {
    const sm = new StateMachine();
    const applied = sm.apply(put("missing", "", { ignoreValue: true }));
    expect(applied).toEqual({
      result: { kind: "error", code: "key-not-found" },
      writes: [],
      events: [],
    });
    expect(sm.kv.revision).toBe(1);
  });

  it("ignore_lease on a missing key fails with key-not-found", () => {
    const sm = new StateMachine();
    expect(sm.apply(put("missing", "v", { ignoreLease: true })).result).toEqual({
      kind: "error",
      code: "key-not-found",
    });
  });

  it("ignore_value keeps the value and still bumps version and mod_revision", () => {
    const { sm } = run([
      grant(7, 60),
      put("a", "keep"),
      put("a", "", { ignoreValue: true, lease: 7 }),
    ]);
    expect(at(sm, "a")).toEqual({
      key: "a",
      value: "keep",
      create: 2,
      mod: 3,
      version: 2,
      lease: 7,
    });
  });

  it("ignore_lease keeps the key's lease while changing its value", () => {
    const { sm } = run([
      grant(7, 60),
      put("a", "1", { lease: 7 }),
      put("a", "2", { ignoreLease: true }),
    ]);
    expect(at(sm, "a")).toMatchObject({ value: "2", lease: 7 });
    expect(sm.leases.attachedKeys(7)).toEqual(["a"]);
  });

  it("a put with an unknown lease fails with lease-not-found and writes nothing", () => {
    const sm = new StateMachine();
    const applied = sm.apply(put("a", "1", { lease: 99 }));
    expect(applied.result).toEqual({ kind: "error", code: "lease-not-found" });
    expect(applied.writes).toEqual([]);
    expect(sm.kv.revision).toBe(1);
  });
});

describe("compaction", () => {
  // a: 2,3 (deleted at 4); b: 5,6; c: 7 → current 7.
  const history = () => [
    put("a", "1"),
    put("a", "2"),
    del("a"),
    put("b", "1"),
    put("b", "2"),
    put("c", "1"),
  ];

  it("keeps each key's newest version at or below the revision and drops tombstones", () => {
    const { sm } = run([...history(), compactTo(5)]);
    expect(sm.kv.compactRevision).toBe(5);
    expect(sm.kv.history.map((v) => `${v.key}@${v.kv.modRevision}`)).toEqual(["b@5", "b@6", "c@7"]);
    expect(sm.kv.keyIndex("a")).toBeUndefined();
  });

  it("reads at the compact revision still see the state of that revision", () => {
    const { sm } = run([...history(), compactTo(5)]);
    expect(keysOf(rangeOk(sm.range(query("a", "\0", { revision: 5 }))).kvs)).toEqual(["b"]);
    expect(at(sm, "b", 5)?.value).toBe("1");
    expect(at(sm, "b", 6)?.value).toBe("2");
  });

  it("reads below the compact revision fail with Compacted", () => {
    const { sm } = run([...history(), compactTo(5)]);
    expect(sm.range(query("b", "", { revision: 4 }))).toEqual({ kind: "error", code: "compacted" });
  });

  it("a compaction keeps a live key whose only version is older than the revision", () => {
    const { sm } = run([put("old", "v"), put("x", "1"), put("x", "2"), compactTo(4)]);
    expect(sm.kv.history.map((v) => `${v.key}@${v.kv.modRevision}`)).toEqual(["old@2", "x@4"]);
    expect(at(sm, "old")?.value).toBe("v");
  });

  it("does not bump the revision and deletes exactly the dropped rows", () => {
    const { sm, store, applied } = run([...history(), compactTo(5)]);
    const compacted = applied[applied.length - 1];
    expect(okOf(compacted, "compact")).toEqual({ revision: 7, compactRevision: 5 });
    expect(sm.kv.revision).toBe(7);
    const kvRows = [...store.rows.values()].filter((row) => row.table === KV_TABLE);
    expect(kvRows).toHaveLength(3);
  });

  it("at or below the compact revision is Compacted; above the current revision is FutureRev", () => {
    const { sm } = run([...history(), compactTo(5)]);
    expect(sm.apply(compactTo(5)).result).toEqual({ kind: "error", code: "compacted" });
    expect(sm.apply(compactTo(3)).result).toEqual({ kind: "error", code: "compacted" });
    expect(sm.apply(compactTo(8)).result).toEqual({ kind: "error", code: "future-rev" });
    expect(sm.apply(compactTo(7)).result.kind).toBe("compact");
  });

  it("compacting at the current revision keeps every live key and nothing else", () => {
    const { sm } = run([...history(), compactTo(7)]);
    expect(sm.kv.history.map((v) => `${v.key}@${v.kv.modRevision}`)).toEqual(["b@6", "c@7"]);
    expect(keysOf(rangeOk(sm.range(query("a", "\0"))).kvs)).toEqual(["b", "c"]);
  });

  it("as etcd 3.4: a negative revision is always Compacted; 0 compacts once, a store never compacted", () => {
    const { sm, store } = run([put("a", "1")]);
    expect(sm.apply(compactTo(-1)).result).toEqual({ kind: "error", code: "compacted" });
    expect(sm.apply(compactTo(-5)).result).toEqual({ kind: "error", code: "compacted" });
    const zero = sm.apply(compactTo(0));
    store.apply(zero.writes);
    expect(okOf(zero, "compact")).toEqual({ revision: 2, compactRevision: 0 });
    expect(sm.kv.firstRevision).toBe(0);
    expect(sm.apply(compactTo(0)).result).toEqual({ kind: "error", code: "compacted" });
    // It is state: a member that restarts remembers it.
    const reloaded = store.reload();
    expect(reloaded.kv.firstRevision).toBe(0);
    expect(reloaded.apply(compactTo(0)).result).toEqual({ kind: "error", code: "compacted" });
    expect(reloaded.apply(compactTo(-1)).result).toEqual({ kind: "error", code: "compacted" });
    expect(at(reloaded, "a")?.value).toBe("1");
  });

  it("a plain range below revision 0 reads the current revision, compacted or not", () => {
    const { sm } = run([...history(), compactTo(5)]);
    expect(at(sm, "b", -1)?.value).toBe("2");
    expect(at(sm, "c", -100)?.value).toBe("1");
  });

  it("a range inside a txn below the first revision is Compacted (etcd's txn check)", () => {
    const rangeIn = (sm: StateMachine, revision: number) =>
      sm.apply(txn([], [rangeOp("a", "", { revision })])).result;
    const fresh = run([put("a", "1")]).sm;
    // Never compacted: the first revision is -1, so -1 and 0 read now and -2 is Compacted.
    expect(rangeIn(fresh, -1).kind).toBe("txn");
    expect(rangeIn(fresh, 0).kind).toBe("txn");
    expect(rangeIn(fresh, -2)).toEqual({ kind: "error", code: "compacted" });
    fresh.apply(compactTo(0));
    expect(rangeIn(fresh, -1)).toEqual({ kind: "error", code: "compacted" });
    expect(rangeIn(fresh, 0).kind).toBe("txn");
    const { sm } = run([...history(), compactTo(5)]);
    expect(rangeIn(sm, -1)).toEqual({ kind: "error", code: "compacted" });
    expect(rangeIn(sm, 4)).toEqual({ kind: "error", code: "compacted" });
    expect(rangeIn(sm, 5).kind).toBe("txn");
    expect(rangeIn(sm, 8)).toEqual({ kind: "error", code: "future-rev" });
  });

  it("writes after a compaction continue version and create_revision of surviving keys", () => {
    const { sm } = run([...history(), compactTo(7), put("b", "3")]);
    expect(at(sm, "b")).toMatchObject({ create: 5, mod: 8, version: 3 });
  });
});

describe("stored bytes", () => {
  it("a stored version owns its key and value: changing the caller's buffers later changes nothing", () => {
    const sm = new StateMachine();
    const command = put("k", "before");
    sm.apply(command);
    // In the server the command's bytes are views into a request or a log
    // entry; the store copies them so that it pins neither (memory) and no
    // later write to them can rewrite history.
    command.key.fill(0x7a);
    command.value.fill(0x7a);
    expect(at(sm, "k")).toMatchObject({ key: "k", value: "before" });
  });
});
