// Range options as etcd applies them (etcdserver/apply.go Range): key ranges,
// limit/more/count, count_only, keys_only, sort target/order with etcd's
// default, min/max revision filters and historic revisions.
import { describe, expect, it } from "vitest";
import {
  effectiveSortOrder,
  type RangeQuery,
  type SortOrder,
  type SortTarget,
} from "../../src/state/range.js";
import { del, keysOf, put, query, rangeOk, run } from "./helpers.js";

// Revisions: a=2, b=3, ba=4, bb=5, c=6, then b updated at 7 and c at 8.
const { sm } = run([
  put("a", "5"),
  put("b", "4"),
  put("ba", "3"),
  put("bb", "2"),
  put("c", "1"),
  put("b", "4b"),
  put("c", "1c"),
]);
const range = (key: string, end: string, extra: Partial<RangeQuery> = {}) =>
  rangeOk(sm.range(query(key, end, extra)));

describe("key ranges", () => {
  it("single key, [key, end), from-key and every key", () => {
    expect(keysOf(range("b", "").kvs)).toEqual(["b"]);
    expect(keysOf(range("b", "c").kvs)).toEqual(["b", "ba", "bb"]);
    expect(keysOf(range("bb", "\0").kvs)).toEqual(["bb", "c"]);
    expect(keysOf(range("\0", "\0").kvs)).toEqual(["a", "b", "ba", "bb", "c"]);
  });

  it("a missing key or an empty interval returns nothing with count 0", () => {
    expect(range("zz", "")).toMatchObject({ kvs: [], count: 0, more: false });
    expect(range("c", "a")).toMatchObject({ kvs: [], count: 0, more: false });
  });

  it("bytes compare unsigned: a key with a high byte sorts after ASCII", () => {
    const { sm: binary } = run([put("\u00ff", "x"), put("z", "y"), put("\u0001", "w")]);
    const all = rangeOk(binary.range(query("\0", "\0")));
    expect(keysOf(all.kvs)).toEqual(["\u0001", "z", "\u00ff"]);
  });
});

describe("limit, more and count", () => {
  it("limit truncates, more says so, count is every key in the range", () => {
    const limited = range("a", "\0", { limit: 2 });
    expect(keysOf(limited.kvs)).toEqual(["a", "b"]);
    expect(limited).toMatchObject({ more: true, count: 5 });
    expect(range("a", "\0", { limit: 5 })).toMatchObject({ more: false, count: 5 });
  });

  it("count ignores the min/max filters, as etcd reports it", () => {
    const filtered = range("a", "\0", { minModRevision: 7 });
    expect(keysOf(filtered.kvs)).toEqual(["b", "c"]);
    expect(filtered.count).toBe(5);
  });

  it("count_only returns no kvs", () => {
    expect(range("a", "\0", { countOnly: true })).toMatchObject({ kvs: [], count: 5, more: false });
  });

  it("keys_only empties values but keeps the metadata", () => {
    const kv = range("b", "", { keysOnly: true }).kvs[0];
    expect(kv?.value.byteLength).toBe(0);
    expect(kv).toMatchObject({ createRevision: 3, modRevision: 7, version: 2 });
  });

  it("limit applies after filters and sorting", () => {
    const newest = range("a", "\0", { sortTarget: "mod", sortOrder: "descend", limit: 1 });
    expect(keysOf(newest.kvs)).toEqual(["c"]);
    expect(newest).toMatchObject({ more: true, count: 5 });
    const filtered = range("a", "\0", { maxCreateRevision: 4, limit: 2 });
    expect(keysOf(filtered.kvs)).toEqual(["a", "b"]);
    expect(filtered.more).toBe(true);
  });
});

describe("sorting", () => {
  const sorted = (sortTarget: SortTarget, sortOrder: SortOrder) =>
    keysOf(range("a", "\0", { sortTarget, sortOrder }).kvs);

  it("every target ascending and descending", () => {
    expect(sorted("key", "descend")).toEqual(["c", "bb", "ba", "b", "a"]);
    expect(sorted("create", "ascend")).toEqual(["a", "b", "ba", "bb", "c"]);
    expect(sorted("create", "descend")).toEqual(["c", "bb", "ba", "b", "a"]);
    expect(sorted("mod", "ascend")).toEqual(["a", "ba", "bb", "b", "c"]);
    expect(sorted("value", "ascend")).toEqual(["c", "bb", "ba", "b", "a"]);
    expect(sorted("value", "descend")).toEqual(["a", "b", "ba", "bb", "c"]);
  });

  it("ties keep key order (stable sort), so every member answers alike", () => {
    expect(sorted("version", "ascend")).toEqual(["a", "ba", "bb", "b", "c"]);
    expect(sorted("version", "descend")).toEqual(["b", "c", "a", "ba", "bb"]);
  });

  it("order NONE with a non-key target sorts ascending (etcd's default)", () => {
    expect(effectiveSortOrder("none", "mod")).toBe("ascend");
    expect(effectiveSortOrder("none", "key")).toBe("none");
    expect(sorted("mod", "none")).toEqual(sorted("mod", "ascend"));
    expect(sorted("key", "none")).toEqual(["a", "b", "ba", "bb", "c"]);
  });

  it("the default ascend sorts the whole range before the limit", () => {
    // etcd 3.4 sorted only the first limit+1 keys here; main (and cairn) sort everything.
    const first = range("a", "\0", { sortTarget: "value", limit: 1 });
    expect(keysOf(first.kvs)).toEqual(["c"]);
  });
});

describe("revision filters and historic reads", () => {
  it("min/max mod and create revision", () => {
    expect(keysOf(range("a", "\0", { maxModRevision: 5 }).kvs)).toEqual(["a", "ba", "bb"]);
    expect(keysOf(range("a", "\0", { minCreateRevision: 4 }).kvs)).toEqual(["ba", "bb", "c"]);
    expect(keysOf(range("a", "\0", { minModRevision: 4, maxModRevision: 7 }).kvs)).toEqual([
      "b",
      "ba",
      "bb",
    ]);
  });

  it("a range at a past revision sees the keys and values of then", () => {
    const past = range("a", "\0", { revision: 4 });
    expect(keysOf(past.kvs)).toEqual(["a", "b", "ba"]);
    expect(past.count).toBe(3);
    expect(Buffer.from(past.kvs[1]?.value ?? []).toString()).toBe("4");
  });

  it("a key deleted later is still visible at an older revision", () => {
    const { sm: deleted } = run([put("x", "1"), del("x")]);
    expect(rangeOk(deleted.range(query("x", "", { revision: 2 }))).count).toBe(1);
    expect(rangeOk(deleted.range(query("x", ""))).count).toBe(0);
  });
});
