// Txn as etcd applies it: compares, branches, nested txns, sub-revisions,
// reads that see the txn's own writes, atomic failure, and the request rules
// (duplicate key, too many operations) of validateTxn.
import { describe, expect, it } from "vitest";
import type { RequestOp } from "../../src/state/command.js";
import { StateMachine } from "../../src/state/state-machine.js";
import { MAX_TXN_OPS, validateTxn } from "../../src/state/txn-validate.js";
import {
  cmp,
  delOp,
  grant,
  keysOf,
  okOf,
  plain,
  put,
  putOp,
  query,
  rangeOk,
  rangeOp,
  run,
  txn,
  txnOp,
} from "./helpers.js";

// a: created 2, version 2 (mod 3), value "2", lease 5; b: created 4, value "x".
const seeded = () =>
  run([grant(5, 100), put("a", "1", { lease: 5 }), put("a", "2", { lease: 5 }), put("b", "x")]).sm;

const holds = (sm: StateMachine, ...compare: Parameters<typeof cmp>) =>
  okOf(sm.apply(txn([cmp(...compare)], [])), "txn").succeeded;

describe("compares", () => {
  it("each target with each result", () => {
    const sm = seeded();
    expect(holds(sm, "a", "value", "equal", "2")).toBe(true);
    expect(holds(sm, "a", "value", "greater", "1")).toBe(true);
    expect(holds(sm, "a", "value", "less", "3")).toBe(true);
    expect(holds(sm, "a", "value", "not-equal", "2")).toBe(false);
    expect(holds(sm, "a", "version", "equal", 2)).toBe(true);
    expect(holds(sm, "a", "create", "equal", 2)).toBe(true);
    expect(holds(sm, "a", "mod", "greater", 2)).toBe(true);
    expect(holds(sm, "a", "mod", "less", 3)).toBe(false);
    expect(holds(sm, "a", "lease", "equal", 5)).toBe(true);
    expect(holds(sm, "b", "lease", "not-equal", 0)).toBe(false);
  });

  it("a missing key compares as zeros, except on value where it always fails", () => {
    const sm = seeded();
    expect(holds(sm, "nope", "create", "equal", 0)).toBe(true);
    expect(holds(sm, "nope", "version", "equal", 0)).toBe(true);
    expect(holds(sm, "nope", "value", "equal", "")).toBe(false);
    expect(holds(sm, "nope", "value", "not-equal", "x")).toBe(false);
  });

  it("with range_end every key in range must satisfy the compare", () => {
    const sm = seeded();
    expect(holds(sm, "a", "version", "greater", 0, "\0")).toBe(true);
    expect(holds(sm, "a", "version", "equal", 2, "\0")).toBe(false);
    expect(holds(sm, "a", "create", "less", 5, "c")).toBe(true);
  });

  it("all compares must hold for success", () => {
    const sm = seeded();
    const both = sm.apply(
      txn(
        [cmp("a", "value", "equal", "2"), cmp("b", "value", "equal", "nope")],
        [putOp("s", "1")],
        [putOp("f", "1")],
      ),
    );
    const ok = okOf(both, "txn");
    expect(ok.succeeded).toBe(false);
    expect(keysOf(rangeOk(sm.range(query("f"))).kvs)).toEqual(["f"]);
    expect(keysOf(rangeOk(sm.range(query("s"))).kvs)).toEqual([]);
  });
});

describe("sub-revisions and events", () => {
  it("all writes of a txn share one revision with increasing sub-revisions", () => {
    const { sm, applied } = run([
      put("x", "0"),
      txn([], [putOp("a", "1"), delOp("x"), putOp("b", "2")]),
    ]);
    const done = applied[1];
    expect(okOf(done, "txn").revision).toBe(3);
    expect(sm.kv.history.slice(1).map((v) => [v.key, v.kv.modRevision, v.sub])).toEqual([
      ["a", 3, 0],
      ["x", 3, 1],
      ["b", 3, 2],
    ]);
    expect(
      done?.events.map((e) => [e.type, Buffer.from(e.kv.key).toString(), e.kv.modRevision]),
    ).toEqual([
      ["put", "a", 3],
      ["delete", "x", 3],
      ["put", "b", 3],
    ]);
  });

  it("a txn that writes nothing does not bump the revision", () => {
    const { sm, applied } = run([put("x", "0"), txn([], [rangeOp("x"), delOp("none")])]);
    expect(okOf(applied[1], "txn").revision).toBe(2);
    expect(sm.kv.revision).toBe(2);
    expect(applied[1]?.writes).toEqual([]);
  });
});

describe("reads inside a txn", () => {
  it("see the txn's earlier writes, at the in-progress revision", () => {
    const { applied } = run([
      put("a", "old"),
      put("x", "gone"),
      txn([], [rangeOp("a"), putOp("a", "new"), rangeOp("a"), delOp("x"), rangeOp("x")]),
    ]);
    const responses = okOf(applied[2], "txn").responses;
    const read = (index: number) => {
      const response = responses[index];
      if (response?.kind !== "range") throw new Error("expected a range response");
      return response.ok;
    };
    expect(plain(read(0).kvs[0])).toMatchObject({ value: "old", version: 1 });
    expect(read(0).revision).toBe(3);
    expect(plain(read(2).kvs[0])).toMatchObject({ value: "new", version: 2, mod: 4 });
    expect(read(2).revision).toBe(4);
    expect(read(4).count).toBe(0);
  });

  it("a range at an explicit past revision reads history", () => {
    const { applied } = run([
      put("a", "1"),
      put("a", "2"),
      txn([], [putOp("a", "3"), rangeOp("a", "", { revision: 2 })]),
    ]);
    const response = okOf(applied[2], "txn").responses[1];
    expect(response?.kind === "range" && plain(response.ok.kvs[0])?.value).toBe("1");
  });

  it("per-op revisions follow etcd: writes report the txn revision", () => {
    const { applied } = run([
      put("a", "1"),
      txn([], [delOp("none"), putOp("b", "1"), delOp("zz")]),
    ]);
    const responses = okOf(applied[1], "txn").responses;
    expect(responses.map((r) => r.ok.revision)).toEqual([2, 3, 3]);
  });
});

describe("nested txns", () => {
  it("run the nested branch chosen by its own compares", () => {
    const sm = seeded();
    const nested = txnOp({
      compare: [cmp("b", "value", "equal", "x")],
      success: [putOp("n", "then")],
      failure: [putOp("n", "else")],
    });
    const ok = okOf(sm.apply(txn([cmp("a", "version", "equal", 2)], [nested])), "txn");
    expect(ok.succeeded).toBe(true);
    const inner = ok.responses[0];
    expect(inner?.kind === "txn" && inner.ok.succeeded).toBe(true);
    expect(plain(rangeOk(sm.range(query("n"))).kvs[0])?.value).toBe("then");
  });

  it("nested compares see the state before the txn, not its earlier writes (etcd)", () => {
    const sm = seeded();
    const nested = txnOp({
      compare: [cmp("b", "value", "equal", "changed")],
      success: [putOp("n", "then")],
      failure: [putOp("n", "else")],
    });
    sm.apply(txn([], [putOp("b", "changed"), nested]));
    expect(plain(rangeOk(sm.range(query("n"))).kvs[0])?.value).toBe("else");
  });
});

describe("atomic failure", () => {
  it("an unknown lease anywhere on the path fails the txn before any write", () => {
    const sm = seeded();
    const before = sm.kv.revision;
    const applied = sm.apply(
      txn([], [putOp("ok", "1"), txnOp({ success: [putOp("z", "1", { lease: 42 })] })]),
    );
    expect(applied).toEqual({
      result: { kind: "error", code: "lease-not-found" },
      writes: [],
      events: [],
    });
    expect(sm.kv.revision).toBe(before);
    expect(rangeOk(sm.range(query("ok"))).count).toBe(0);
  });

  it("ops of the branch not taken are not checked", () => {
    const sm = seeded();
    const applied = sm.apply(txn([], [putOp("ok", "1")], [putOp("z", "1", { lease: 42 })]));
    expect(okOf(applied, "txn").succeeded).toBe(true);
  });

  it("ignore_value on a missing key fails with key-not-found", () => {
    const sm = seeded();
    const applied = sm.apply(txn([], [putOp("new", "", { ignoreValue: true })]));
    expect(applied.result).toEqual({ kind: "error", code: "key-not-found" });
  });

  it("a range at a future or compacted revision fails the whole txn", () => {
    const sm = seeded();
    const future = sm.apply(txn([], [putOp("w", "1"), rangeOp("a", "", { revision: 99 })]));
    expect(future.result).toEqual({ kind: "error", code: "future-rev" });
    sm.apply({ v: 1, id: 1, at: 0, kind: "compact", revision: 4 });
    const old = sm.apply(txn([], [putOp("w", "1"), rangeOp("a", "", { revision: 3 })]));
    expect(old.result).toEqual({ kind: "error", code: "compacted" });
    expect(rangeOk(sm.range(query("w"))).count).toBe(0);
  });

  it("a range at the revision the txn is writing is a future revision (etcd checks before writing)", () => {
    const sm = seeded();
    const next = sm.kv.revision + 1;
    expect(
      sm.apply(txn([], [putOp("w", "1"), rangeOp("w", "", { revision: next })])).result,
    ).toEqual({
      kind: "error",
      code: "future-rev",
    });
  });
});

describe("validateTxn: duplicate keys", () => {
  const verdict = (success: RequestOp[], failure: RequestOp[] = []) =>
    validateTxn({ compare: [], success, failure });

  it("two puts of one key, or a put inside a delete range, in one branch", () => {
    expect(verdict([putOp("a", "1"), putOp("a", "2")])).toBe("duplicate-key");
    expect(verdict([delOp("a", "c"), putOp("b", "1")])).toBe("duplicate-key");
    expect(verdict([putOp("b", "1"), delOp("b")])).toBe("duplicate-key");
  });

  it("like etcd 3.4, a from-key delete (range_end \\0) conflicts with no put", () => {
    expect(verdict([putOp("x", "1"), delOp("a", "\0")])).toBeNull();
    expect(verdict([delOp("a", "\0"), putOp("x", "1")])).toBeNull();
  });

  it("refuses an ignore_value/ignore_lease put after a from-key delete that may remove its key", () => {
    // etcd 3.4 panics on this txn ("unexpected error during txn"); cairn refuses it instead.
    expect(verdict([delOp("a", "\0"), putOp("x", "", { ignoreValue: true })])).toBe(
      "duplicate-key",
    );
    expect(
      verdict([txnOp({ failure: [delOp("a", "\0")] }), putOp("x", "", { ignoreLease: true })]),
    ).toBe("duplicate-key");
    expect(verdict([putOp("x", "", { ignoreValue: true }), delOp("a", "\0")])).toBeNull();
    expect(verdict([delOp("y", "\0"), putOp("x", "", { ignoreValue: true })])).toBeNull();
  });

  it("overlapping deletes, and writes in different branches, are fine", () => {
    expect(verdict([delOp("a", "c"), delOp("b", "d")])).toBeNull();
    expect(verdict([putOp("a", "1")], [putOp("a", "2")])).toBeNull();
    expect(verdict([putOp("c", "1"), delOp("a", "c")])).toBeNull();
  });

  it("nested txns: then/else of one txn may share keys; siblings and parents may not", () => {
    const both = txnOp({ success: [putOp("k", "1")], failure: [putOp("k", "2")] });
    expect(verdict([both])).toBeNull();
    expect(verdict([both, putOp("k", "3")])).toBe("duplicate-key");
    expect(
      verdict([txnOp({ success: [putOp("k", "1")] }), txnOp({ failure: [putOp("k", "2")] })]),
    ).toBe("duplicate-key");
    expect(verdict([delOp("k"), txnOp({ failure: [putOp("k", "1")] })])).toBe("duplicate-key");
    expect(verdict([txnOp({ success: [delOp("k")] }), putOp("k", "1")])).toBe("duplicate-key");
  });

  it("like etcd, a later nested txn may delete what an earlier nested txn put", () => {
    const putThenDelete = [txnOp({ success: [putOp("k", "1")] }), txnOp({ success: [delOp("k")] })];
    expect(verdict(putThenDelete)).toBeNull();
    const { sm } = run([txn([], putThenDelete)]);
    expect(sm.kv.history.map((v) => [v.kv.modRevision, v.sub, v.tombstone])).toEqual([
      [2, 0, false],
      [2, 1, true],
    ]);
    expect(rangeOk(sm.range(query("k"))).count).toBe(0);
  });

  it("apply refuses a duplicate-key txn deterministically", () => {
    const sm = new StateMachine();
    expect(sm.apply(txn([], [putOp("a", "1"), putOp("a", "2")])).result).toEqual({
      kind: "error",
      code: "duplicate-key",
    });
    expect(sm.kv.revision).toBe(1);
  });
});

describe("validateTxn: op budget", () => {
  const puts = (count: number) => Array.from({ length: count }, (_, i) => putOp(`k${i}`, "v"));

  it("allows maxTxnOps ops per branch and refuses one more", () => {
    expect(validateTxn({ compare: [], success: puts(MAX_TXN_OPS), failure: [] })).toBeNull();
    expect(validateTxn({ compare: [], success: puts(MAX_TXN_OPS + 1), failure: [] })).toBe(
      "too-many-ops",
    );
  });

  it("counts max(compares, success, failure), not their sum", () => {
    const compares = Array.from({ length: MAX_TXN_OPS }, () => cmp("a", "version", "equal", 0));
    expect(
      validateTxn({ compare: compares, success: puts(MAX_TXN_OPS), failure: puts(10) }),
    ).toBeNull();
    expect(
      validateTxn({ compare: [...compares, compares[0] as never], success: [], failure: [] }),
    ).toBe("too-many-ops");
  });

  it("a nested txn gets the budget its parent leaves", () => {
    const nested = (size: number) => txnOp({ success: puts(size) });
    expect(
      validateTxn({ compare: [], success: [nested(MAX_TXN_OPS - 1)], failure: [] }),
    ).toBeNull();
    expect(validateTxn({ compare: [], success: [nested(MAX_TXN_OPS)], failure: [] })).toBe(
      "too-many-ops",
    );
    expect(validateTxn({ compare: [], success: [nested(4)], failure: [] }, 4)).toBe("too-many-ops");
  });

  it("apply uses the configured maxTxnOps", () => {
    const sm = new StateMachine({ maxTxnOps: 2 });
    expect(sm.apply(txn([], puts(3))).result).toEqual({ kind: "error", code: "too-many-ops" });
    expect(okOf(sm.apply(txn([], puts(2))), "txn").succeeded).toBe(true);
  });
});
