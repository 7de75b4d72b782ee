// The history model: JSONL round trip and validation, pairing and its
// per-process discipline, outcome counts.

import { describe, expect, it } from "vitest";
import { decodeHistory, encodeHistory } from "../../jepsen-lite/history/jsonl.js";
import { HistoryError, type Op } from "../../jepsen-lite/history/op.js";
import { countOutcomes, pairHistory } from "../../jepsen-lite/history/pair.js";
import { HistoryRecorder } from "../../jepsen-lite/history/recorder.js";

const ops: Op[] = [
  { index: 0, time: 0, process: 1, type: "invoke", f: "write", key: "k", value: "a" },
  { index: 1, time: 0.5, process: 2, type: "invoke", f: "read", key: "k" },
  { index: 2, time: 1.25, process: 1, type: "ok", f: "write", key: "k", value: "a" },
  { index: 3, time: 3, process: 2, type: "info", f: "read", key: "k" },
  { index: 4, time: 4, process: 3, type: "invoke", f: "cas", key: "k", value: ["a", { b: [1] }] },
  { index: 5, time: 5, process: 4, type: "invoke", f: "write", key: "k", value: "c" },
  {
    index: 6,
    time: 6,
    process: 4,
    type: "fail",
    f: "write",
    key: "k",
    node: "n2",
    error: "UNAVAILABLE",
  },
];

describe("history.jsonl", () => {
  it("round-trips, one record per line", () => {
    const text = encodeHistory(ops);
    expect(text.trim().split("\n")).toHaveLength(ops.length);
    expect(text.split("\n")[0]).toBe(
      '{"index":0,"time":0,"process":1,"type":"invoke","f":"write","key":"k","value":"a"}',
    );
    expect(decodeHistory(text)).toEqual(ops);
  });

  it("skips blank lines and rejects malformed records with their position", () => {
    expect(decodeHistory("\n\n")).toEqual([]);
    const bad = [
      '{"index":0,"time":0,"process":1,"type":"done","f":"read"}',
      '{"index":1,"time":0,"process":1,"type":"ok","f":"read"}',
      '{"index":0,"time":-1,"process":1,"type":"ok","f":"read"}',
      '{"index":0,"time":0,"process":"p","type":"ok","f":"read"}',
      '{"index":0,"time":0,"process":1,"type":"ok","f":""}',
      '{"index":0,"time":0,"process":1,"type":"ok","f":"read","key":3}',
      "[1]",
      "{not json",
    ];
    for (const line of bad) expect(() => decodeHistory(line)).toThrow(HistoryError);
  });
});

describe("pairHistory", () => {
  it("pairs each invocation with its completion, in invocation order", () => {
    const paired = pairHistory(ops);
    expect(paired.map((p) => [p.f, p.outcome])).toEqual([
      ["write", "ok"],
      ["read", "info"],
      ["cas", "pending"],
      ["write", "fail"],
    ]);
    const [write, read, cas] = paired;
    expect(write).toMatchObject({
      input: "a",
      output: "a",
      callTime: 0,
      returnTime: 1.25,
      completeIndex: 2,
    });
    expect(read?.returnTime).toBe(Number.POSITIVE_INFINITY);
    expect(read?.completeTime).toBe(3);
    expect(cas?.returnTime).toBe(Number.POSITIVE_INFINITY);
    expect(cas?.completeIndex).toBeUndefined();
    expect(countOutcomes(paired)).toEqual({ ok: 1, fail: 1, info: 2 });
  });

  it("rejects a broken per-process discipline", () => {
    const inv = (index: number, process: number, f = "read"): Op => ({
      index,
      time: index,
      process,
      type: "invoke",
      f,
    });
    const ok = (index: number, process: number, f = "read"): Op => ({
      index,
      time: index,
      process,
      type: "ok",
      f,
    });
    const info = (index: number, process: number): Op => ({
      index,
      time: index,
      process,
      type: "info",
      f: "read",
    });
    expect(() => pairHistory([ok(0, 1)])).toThrow(/without an invocation/);
    expect(() => pairHistory([inv(0, 1), inv(1, 1)])).toThrow(/while record 0 is open/);
    expect(() => pairHistory([inv(0, 1), info(1, 1), inv(2, 1)])).toThrow(/after an info/);
    expect(() => pairHistory([inv(0, 1), ok(1, 1, "write")])).toThrow(/does not match/);
    expect(() => pairHistory([{ ...inv(0, 1), time: 5 }, ok(1, 1)])).toThrow(
      /before its invocation/,
    );
  });
});

describe("HistoryRecorder", () => {
  it("stamps indexes and times and keeps the per-process discipline", () => {
    let t = 0;
    const recorder = new HistoryRecorder(() => (t += 1.5));
    const w = recorder.invoke(1, "write", "k", "v");
    const r = recorder.invoke(2, "read", "k");
    recorder.complete(w, "ok");
    recorder.complete(r, "info");
    expect(recorder.ops.map((op) => [op.index, op.time, op.type])).toEqual([
      [0, 1.5, "invoke"],
      [1, 3, "invoke"],
      [2, 4.5, "ok"],
      [3, 6, "info"],
    ]);
    expect(pairHistory(recorder.ops)).toHaveLength(2);
    expect(() => recorder.invoke(2, "read", "k")).toThrow(/retired/);
    const again = recorder.invoke(1, "read");
    expect(() => recorder.invoke(1, "read")).toThrow(/in flight/);
    expect(() => recorder.complete(w, "ok")).toThrow(/not in flight/);
    recorder.complete(again, "ok", null);
    expect(decodeHistory(encodeHistory(recorder.ops))).toEqual(recorder.ops);
  });
});
