// The lock/election queue's key layout and turn logic (etcd-v3.md §3 "Locks"):
// `<name>/<lease hex>`, prefix ranges as etcd computes them, and where a claim
// stands given its own key and its predecessor.
import { describe, expect, it } from "vitest";
import {
  ownerQuery,
  predecessorQuery,
  prefixRangeEnd,
  queueKey,
  queuePrefix,
  queueTurn,
} from "../../../src/server/lock/queue-keys.js";
import type { KeyValue } from "../../../src/state/index.js";
import { bytes, text } from "./fake-member.js";

function kv(key: string, createRevision: number): KeyValue {
  return {
    key: bytes(key),
    createRevision,
    modRevision: createRevision,
    version: 1,
    value: new Uint8Array(0),
    lease: 7,
  };
}

describe("queue keys", () => {
  it("names a waiter <name>/<lease in lowercase hex without padding>, as Go's %x", () => {
    expect(text(queueKey(bytes("mylock"), 0x1d7b4a1d5e0a0c))).toBe("mylock/1d7b4a1d5e0a0c");
    expect(text(queueKey(bytes("x"), 1))).toBe("x/1");
    expect(text(queuePrefix(bytes("")))).toBe("/");
  });

  it("refuses a key without a lease", () => {
    expect(() => queueKey(bytes("x"), 0)).toThrow(/lease id/);
  });

  it("ends a prefix range like etcd's GetPrefixRangeEnd", () => {
    expect(text(prefixRangeEnd(bytes("lock/")))).toBe("lock0");
    expect([...prefixRangeEnd(Uint8Array.of(0x61, 0xff))]).toEqual([0x62]);
    expect([...prefixRangeEnd(Uint8Array.of(0xff, 0xff))]).toEqual([0]);
    // Buffer#slice is a view: the range end must be a copy, never an edit of the key.
    const key = Buffer.from("job/abc", "latin1");
    expect(text(prefixRangeEnd(key))).toBe("job/abd");
    expect(text(key)).toBe("job/abc");
  });

  it("reads the holder as the oldest key and the predecessor as the newest older one", () => {
    const prefix = bytes("l/");
    expect(ownerQuery(prefix)).toMatchObject({
      limit: 1,
      sortTarget: "create",
      sortOrder: "ascend",
    });
    expect(predecessorQuery(prefix, 10)).toMatchObject({
      limit: 1,
      sortTarget: "create",
      sortOrder: "descend",
      maxCreateRevision: 9,
    });
    // maxCreateRevision 0 would mean "no bound": a claim is never at revision 1.
    expect(() => predecessorQuery(prefix, 1)).toThrow(/at least 2/);
  });
});

describe("queue turn", () => {
  it("owns the queue when nothing older exists", () => {
    expect(queueTurn(5, kv("l/a", 5), undefined)).toEqual({ kind: "owner" });
  });

  it("waits on exactly its predecessor", () => {
    const turn = queueTurn(5, kv("l/a", 5), kv("l/b", 4));
    expect(turn.kind).toBe("wait");
    expect(turn.kind === "wait" && text(turn.predecessor)).toBe("l/b");
  });

  it("is lost when its key is gone or is a newer incarnation", () => {
    expect(queueTurn(5, undefined, undefined)).toEqual({ kind: "lost" });
    expect(queueTurn(5, kv("l/a", 9), undefined)).toEqual({ kind: "lost" });
    // Lost wins over waiting: a waiter whose lease died must not keep waiting.
    expect(queueTurn(5, undefined, kv("l/b", 4))).toEqual({ kind: "lost" });
  });

  it("asserts the predecessor really is older", () => {
    expect(() => queueTurn(5, kv("l/a", 5), kv("l/b", 6))).toThrow(/predecessor/);
  });
});
