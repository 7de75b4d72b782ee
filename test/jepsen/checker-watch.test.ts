// Watch guarantees against acknowledged writes: one healthy stream, then one
// broken stream per guarantee.

import { describe, expect, it } from "vitest";
import {
  type AckedWrite,
  checkWatch,
  type WatchEvent,
  type WatcherLog,
  type WatchSession,
} from "../../jepsen-lite/checker/watch.js";

const put = (key: string, revision: number, value: unknown = `${key}@${revision}`): AckedWrite => ({
  key,
  revision,
  type: "put",
  value,
});

// Revision 4 is a txn writing two keys; revision 6 touches a key outside the prefix.
const writes: AckedWrite[] = [
  put("a/1", 2),
  put("a/2", 3),
  put("a/1", 4),
  put("a/2", 4),
  { key: "a/1", revision: 5, type: "delete" },
  put("b/1", 6),
  put("a/3", 7),
];
const [w2, w3, w4a, w4b, w5, , w7] = writes as [AckedWrite, ...AckedWrite[]];

function watcher(sessions: WatchSession[], watcherName = "w1"): WatcherLog {
  return { watcher: watcherName, filter: { key: "a/", prefix: true }, sessions };
}

function session(startRevision: number, ...responses: (WatchEvent | undefined)[][]): WatchSession {
  return {
    startRevision,
    responses: responses.map((r) => r.filter((e): e is WatchEvent => e !== undefined)),
  };
}

const propertiesOf = (logs: WatcherLog[]) =>
  checkWatch(writes, logs).violations.map((v) => v.property);

describe("checkWatch", () => {
  it("accepts a complete, ordered stream, and one resumed at last + 1", () => {
    const whole = watcher([session(1, [w2], [w3], [w4a, w4b], [w5, w7])]);
    const resumed = watcher([session(1, [w2], [w3]), session(4, [w4a, w4b], [w5], [w7])], "w2");
    const result = checkWatch(writes, [whole, resumed]);
    expect(result.violations).toEqual([]);
    expect(result).toMatchObject({ valid: true, watchers: 2, events: 12 });
  });

  it("does not require events past the last one received", () => {
    expect(propertiesOf([watcher([session(1, [w2], [w3])])])).toEqual([]);
  });

  it("ordered: a revision after a higher one", () => {
    expect(propertiesOf([watcher([session(1, [w2], [w4a, w4b], [w3], [w5, w7])])])).toEqual([
      "ordered",
    ]);
  });

  it("unique: an event delivered twice", () => {
    expect(propertiesOf([watcher([session(1, [w2], [w3], [w3], [w4a, w4b], [w5, w7])])])).toEqual([
      "unique",
    ]);
  });

  it("atomic: a revision split across responses, or partly delivered", () => {
    expect(propertiesOf([watcher([session(1, [w2], [w3], [w4a], [w4b], [w5, w7])])])).toEqual([
      "atomic",
    ]);
    expect(propertiesOf([watcher([session(1, [w2], [w3], [w4a], [w5, w7])])])).toEqual(["atomic"]);
  });

  it("reliable: a gap between the start and the last event", () => {
    const result = checkWatch(writes, [watcher([session(1, [w2], [w4a, w4b], [w5, w7])])]);
    expect(result.violations).toMatchObject([
      { property: "reliable", revision: 3, key: "a/2", watcher: "w1" },
    ]);
  });

  it("resumable: a reconnect that skips ahead or replays old revisions", () => {
    expect(propertiesOf([watcher([session(1, [w2], [w3]), session(4, [w5], [w7])])])).toEqual([
      "resumable",
      "resumable",
    ]);
    expect(propertiesOf([watcher([session(1, [w2], [w3]), session(4, [w3], [w4a, w4b])])])).toEqual(
      ["resumable", "unique"],
    );
  });

  it("bookmarkable: a progress notification past events never delivered", () => {
    const notified: WatchSession = { ...session(1, [w2], [w3], [w4a, w4b]), progressRevision: 7 };
    expect(propertiesOf([watcher([notified])])).toEqual(["bookmarkable", "bookmarkable"]);
  });

  it("filtered: an event outside the watched range", () => {
    expect(
      propertiesOf([watcher([session(1, [w2], [w3], [w4a, w4b], [w5], [put("b/1", 6)], [w7])])]),
    ).toEqual(["filtered"]);
  });

  it("consistent: an event that contradicts the acknowledged write or another watcher", () => {
    const wrong = { ...w3, value: "other" } as AckedWrite;
    expect(propertiesOf([watcher([session(1, [w2], [wrong])])])).toEqual(["consistent"]);
    // Revision 8 was never acknowledged (an indeterminate put), but watchers must agree on it.
    const a = watcher([session(7, [w7], [put("a/9", 8, "x")])], "w1");
    const b = watcher([session(7, [w7], [put("a/9", 8, "y")])], "w2");
    expect(propertiesOf([a, b])).toEqual(["consistent"]);
    expect(propertiesOf([a, a])).toEqual([]);
  });

  it("a write with an unknown revision is neither required nor contradicted", () => {
    // a/9@8 is not among the acknowledged writes: delivering it is fine.
    expect(propertiesOf([watcher([session(7, [w7], [put("a/9", 8)])])])).toEqual([]);
  });
});
