import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Command, decodeCommand, encodeCommand } from "../../src/state/command.js";
import type { TableWrite } from "../../src/state/kv-store.js";
import { type RangeQuery, rangeQuery } from "../../src/state/range.js";
import { StateMachine } from "../../src/state/state-machine.js";

const bytes = (text: string): Uint8Array => Buffer.from(text);
let nextId = 1;
const put = (key: string, value: string, extra: Partial<Command> = {}): Command =>
  ({
    v: 1,
    id: nextId++,
    at: 0,
    kind: "put",
    key: bytes(key),
    value: bytes(value),
    lease: 0,
    prevKv: false,
    ignoreValue: false,
    ignoreLease: false,
    ...extra,
  }) as Command;
const del = (key: string, rangeEnd = ""): Command => ({
  v: 1,
  id: nextId++,
  at: 0,
  kind: "delete-range",
  key: bytes(key),
  rangeEnd: rangeEnd === "\0" ? new Uint8Array([0]) : bytes(rangeEnd),
  prevKv: true,
});
const query = (key: string, rangeEnd: string, extra: Partial<RangeQuery> = {}): RangeQuery => ({
  key: bytes(key),
  rangeEnd: rangeEnd === "\0" ? new Uint8Array([0]) : bytes(rangeEnd),
  limit: 0,
  sortOrder: "none",
  sortTarget: "key",
  keysOnly: false,
  countOnly: false,
  minModRevision: 0,
  maxModRevision: 0,
  minCreateRevision: 0,
  maxCreateRevision: 0,
  ...extra,
});

describe("state machine: etcd revision semantics", () => {
  it("starts at revision 1 and bumps once per write", () => {
    const sm = new StateMachine();
    expect(sm.kv.revision).toBe(1);
    const first = sm.apply(put("a", "1"));
    expect(first.result).toMatchObject({ kind: "put", ok: { revision: 2 } });
    sm.apply(put("a", "2"));
    const kv = sm.kv.get("a");
    expect(kv).toMatchObject({ createRevision: 2, modRevision: 3, version: 2 });
    expect(Buffer.from(kv?.value ?? []).toString()).toBe("2");
  });

  it("returns prev_kv only when asked", () => {
    const sm = new StateMachine();
    sm.apply(put("k", "old"));
    const applied = sm.apply(put("k", "new", { prevKv: true } as Partial<Command>));
    expect(applied.result.kind).toBe("put");
    if (applied.result.kind === "put") {
      expect(Buffer.from(applied.result.ok.prevKv?.value ?? []).toString()).toBe("old");
    }
  });

  it("a delete that removes nothing does not bump the revision", () => {
    const sm = new StateMachine();
    sm.apply(put("a", "1"));
    const none = sm.apply(del("zzz"));
    expect(none.result).toMatchObject({ kind: "delete-range", ok: { revision: 2, deleted: 0 } });
    expect(none.writes).toHaveLength(0);
    const some = sm.apply(del("a", "\0"));
    expect(some.result).toMatchObject({ kind: "delete-range", ok: { revision: 3, deleted: 1 } });
  });

  it("ignore_value on a missing key fails deterministically with key-not-found", () => {
    const sm = new StateMachine();
    const applied = sm.apply(put("missing", "", { ignoreValue: true } as Partial<Command>));
    expect(applied.result).toEqual({ kind: "error", code: "key-not-found" });
    expect(applied.writes).toHaveLength(0);
    expect(sm.kv.revision).toBe(1);
  });

  it("recreating a deleted key restarts version and create revision", () => {
    const sm = new StateMachine();
    sm.apply(put("a", "1"));
    sm.apply(del("a"));
    sm.apply(put("a", "2"));
    expect(sm.kv.get("a")).toMatchObject({ createRevision: 4, modRevision: 4, version: 1 });
  });
});

describe("range", () => {
  const sm = new StateMachine();
  for (const key of ["a", "b", "ba", "bb", "c"]) sm.apply(put(key, key.toUpperCase()));

  it("prefix, from-key and limit with more/count", () => {
    expect(
      rangeQuery(sm.kv, query("b", "c")).kvs.map((kv) => Buffer.from(kv.key).toString()),
    ).toEqual(["b", "ba", "bb"]);
    expect(rangeQuery(sm.kv, query("bb", "\0")).count).toBe(2);
    const limited = rangeQuery(sm.kv, query("a", "\0", { limit: 2 }));
    expect(limited.kvs).toHaveLength(2);
    expect(limited.more).toBe(true);
    expect(limited.count).toBe(5);
  });

  it("sorts by target and order, count_only and keys_only", () => {
    const byModDesc = rangeQuery(
      sm.kv,
      query("a", "\0", { sortOrder: "descend", sortTarget: "mod" }),
    );
    expect(Buffer.from(byModDesc.kvs[0]?.key ?? []).toString()).toBe("c");
    expect(rangeQuery(sm.kv, query("a", "\0", { countOnly: true }))).toMatchObject({
      kvs: [],
      count: 5,
    });
    expect(rangeQuery(sm.kv, query("a", "", { keysOnly: true })).kvs[0]?.value.byteLength).toBe(0);
  });

  it("filters by mod revision", () => {
    const recent = rangeQuery(sm.kv, query("a", "\0", { minModRevision: 5 }));
    expect(recent.kvs.map((kv) => Buffer.from(kv.key).toString())).toEqual(["bb", "c"]);
  });
});

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  fc
    .record({ key: fc.constantFrom("a", "b", "c", "d"), value: fc.string({ maxLength: 4 }) })
    .map(({ key, value }) => put(key, value)),
  fc
    .record({ key: fc.constantFrom("a", "b", "c"), end: fc.constantFrom("", "c", "\0") })
    .map(({ key, end }) => del(key, end)),
);

function replay(commands: readonly Command[]): { sm: StateMachine; writes: TableWrite[] } {
  const sm = new StateMachine();
  const writes: TableWrite[] = [];
  for (const command of commands)
    writes.push(...sm.apply(decodeCommand(encodeCommand(command))).writes);
  return { sm, writes };
}

describe("determinism and persistence", () => {
  it("the same command stream gives byte-identical writes on two members", () => {
    fc.assert(
      fc.property(fc.array(commandArb, { maxLength: 40 }), (commands) => {
        const one = replay(commands);
        const two = replay(commands);
        expect(Buffer.concat(one.writes.map((w) => Buffer.from(w.value ?? [])))).toEqual(
          Buffer.concat(two.writes.map((w) => Buffer.from(w.value ?? []))),
        );
        expect(one.sm.kv.revision).toBe(two.sm.kv.revision);
      }),
      { numRuns: 100 },
    );
  });

  it("state reloaded from its own writes equals the live state", () => {
    fc.assert(
      fc.property(fc.array(commandArb, { maxLength: 40 }), (commands) => {
        const { sm, writes } = replay(commands);
        const table = new Map<string, { table: string; key: Uint8Array; value: Uint8Array }>();
        for (const w of writes) {
          const id = `${w.table}/${Buffer.from(w.key).toString("latin1")}`;
          if (w.value === null) table.delete(id);
          else table.set(id, { table: w.table, key: w.key, value: w.value });
        }
        const reloaded = new StateMachine();
        for (const row of table.values()) reloaded.loadRow(row.table, row.key, row.value);
        expect(reloaded.kv.revision).toBe(sm.kv.revision);
        const all = (m: StateMachine) => rangeQuery(m.kv, query("\0", "\0")).kvs;
        expect(all(reloaded)).toEqual(all(sm));
      }),
      { numRuns: 100 },
    );
  });
});
