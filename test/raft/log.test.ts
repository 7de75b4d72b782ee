// RaftLog and UnstableLog: conflict search, the follower append rule, commit
// bounds, durable-only committed entries and in-flight truncation.

import { describe, expect, it } from "vitest";
import { MemoryStorage } from "../../src/raft/index.js";
import { RaftLog } from "../../src/raft/log.js";
import { UnstableLog } from "../../src/raft/log-unstable.js";
import { AssertionError } from "../../src/util/assert.js";
import { entriesWithTerms, entry, termsOf } from "./helpers.js";

function storageWith(terms: readonly number[]): MemoryStorage {
  const storage = new MemoryStorage({ confState: { voters: [1], learners: [] } });
  storage.append(entriesWithTerms(terms));
  return storage;
}

function logWith(stableTerms: readonly number[], unstableTerms: readonly number[] = []): RaftLog {
  const log = new RaftLog(storageWith(stableTerms));
  log.append(entriesWithTerms(unstableTerms, stableTerms.length + 1));
  return log;
}

describe("RaftLog", () => {
  it("reads terms across storage and the unstable tail", () => {
    const log = logWith([1, 1], [2, 3]);
    expect([0, 1, 2, 3, 4].map((i) => log.term(i))).toEqual([0, 1, 1, 2, 3]);
    expect(log.term(5)).toBeUndefined();
    expect(log.lastIndex()).toBe(4);
    expect(log.lastTerm()).toBe(3);
    expect(log.stableLastIndex()).toBe(2);
  });

  it("isUpToDate compares last term first, then length (§5.4.1)", () => {
    const log = logWith([1, 2, 2]);
    expect(log.isUpToDate(3, 2)).toBe(true);
    expect(log.isUpToDate(2, 2)).toBe(false);
    expect(log.isUpToDate(1, 3)).toBe(true);
    expect(log.isUpToDate(9, 1)).toBe(false);
  });

  it("findConflict returns the first mismatching or new index", () => {
    const log = logWith([1, 2, 3]);
    expect(log.findConflict(entriesWithTerms([1, 2, 3]))).toBe(0);
    expect(log.findConflict(entriesWithTerms([2, 3], 2))).toBe(0);
    expect(log.findConflict(entriesWithTerms([2, 3, 4], 2))).toBe(4);
    expect(log.findConflict(entriesWithTerms([2, 4], 2))).toBe(3);
    expect(log.findConflict([entry(1, 4)])).toBe(1);
  });

  it("findConflictByTerm finds the largest index at or below with a term <= the given one", () => {
    const log = logWith([1, 3, 3, 4, 4, 5, 5, 5, 6]);
    expect(log.findConflictByTerm(8, 3)).toEqual({ index: 3, term: 3 });
    expect(log.findConflictByTerm(9, 5)).toEqual({ index: 8, term: 5 });
    expect(log.findConflictByTerm(9, 2)).toEqual({ index: 1, term: 1 });
    expect(log.findConflictByTerm(9, 0)).toEqual({ index: 0, term: 0 });
    expect(log.findConflictByTerm(4, 9)).toEqual({ index: 4, term: 4 });
  });

  it("maybeAppend checks (prevIndex, prevTerm), appends after conflicts, commits what it verified", () => {
    const log = logWith([1, 2, 3]);
    expect(log.maybeAppend(3, 2, 3, [entry(4, 4)])).toBeUndefined();
    expect(log.maybeAppend(4, 3, 3, [])).toBeUndefined();
    // Matching prefix: nothing truncated, commit capped at the last verified index.
    expect(log.maybeAppend(1, 1, 10, [entry(2, 2)])).toBe(2);
    expect(log.committed).toBe(2);
    expect(log.lastIndex()).toBe(3);
    // A conflict truncates from the first mismatching entry.
    expect(log.maybeAppend(2, 2, 2, [entry(3, 4), entry(4, 4)])).toBe(4);
    expect(termsOf(log.slice(1, 5, Infinity))).toEqual([1, 2, 4, 4]);
  });

  it("refuses to truncate committed entries", () => {
    const log = logWith([1, 1, 1]);
    log.commitTo(3);
    expect(() => log.maybeAppend(1, 1, 3, [entry(2, 2)])).toThrow(AssertionError);
  });

  it("commit never decreases and never passes the last index", () => {
    const log = logWith([1, 1, 1]);
    log.commitTo(2);
    log.commitTo(1);
    expect(log.committed).toBe(2);
    expect(() => log.commitTo(4)).toThrow(AssertionError);
  });

  it("maybeCommit only commits entries of the given term (Figure 8)", () => {
    const log = logWith([1, 1, 2]);
    expect(log.maybeCommit(2, 2)).toBe(false);
    expect(log.committed).toBe(0);
    expect(log.maybeCommit(3, 2)).toBe(true);
    expect(log.committed).toBe(3);
  });

  it("hands out committed entries only once they are durable", () => {
    const storage = storageWith([1, 1]);
    const log = new RaftLog(storage);
    const tail = entriesWithTerms([1, 1], 3);
    log.append(tail);
    log.commitTo(4);
    expect(log.nextCommittedEntries(Infinity).map((e) => e.index)).toEqual([1, 2]);
    log.acceptUnstable();
    expect(() => log.stableTo(4, 1)).toThrow(AssertionError); // The shell has not written them.
    storage.append(tail);
    log.stableTo(4, 1);
    expect(log.nextCommittedEntries(Infinity).map((e) => e.index)).toEqual([1, 2, 3, 4]);
    log.acceptApplying(4);
    expect(log.hasNextCommittedEntries()).toBe(false);
    log.appliedTo(4);
    expect(log.applied).toBe(4);
  });

  it("slices across storage and unstable with a byte limit", () => {
    const log = logWith([1, 1, 1], [2, 2]);
    expect(log.slice(2, 6, Infinity).map((e) => e.index)).toEqual([2, 3, 4, 5]);
    const entrySize = 24 + "e1t1".length;
    expect(log.slice(2, 6, entrySize * 3).map((e) => e.index)).toEqual([2, 3, 4]);
    expect(log.slice(4, 6, 0).map((e) => e.index)).toEqual([4]);
    expect(log.entriesFrom(6, Infinity)).toEqual([]);
  });
});

describe("UnstableLog", () => {
  it("hands out each entry once, and again only if it is replaced", () => {
    const u = new UnstableLog(5);
    u.truncateAndAppend(entriesWithTerms([1, 1, 1], 5));
    expect(u.nextEntries().map((e) => e.index)).toEqual([5, 6, 7]);
    u.acceptInProgress();
    expect(u.nextEntries()).toEqual([]);
    u.truncateAndAppend([entry(8, 1)]);
    expect(u.nextEntries().map((e) => e.index)).toEqual([8]);
    // A newer leader replaces 7..8 while 5..8 are being written.
    u.acceptInProgress();
    u.truncateAndAppend([entry(7, 2)]);
    expect(u.nextEntries().map((e) => `${e.index}/${e.term}`)).toEqual(["7/2"]);
  });

  it("ignores a stableTo for an entry that was replaced meanwhile", () => {
    const u = new UnstableLog(5);
    u.truncateAndAppend(entriesWithTerms([1, 1, 1], 5));
    u.acceptInProgress();
    u.truncateAndAppend([entry(6, 2), entry(7, 2)]);
    u.stableTo(7, 1); // The write of old 5..7 finished, but 6..7 are obsolete.
    expect(u.offset).toBe(5);
    expect(u.entries.map((e) => e.term)).toEqual([1, 2, 2]);
    u.acceptInProgress();
    u.stableTo(7, 2);
    expect(u.offset).toBe(8);
    expect(u.entries).toEqual([]);
  });

  it("replacing from before the offset restarts the tail there", () => {
    const u = new UnstableLog(5);
    u.truncateAndAppend(entriesWithTerms([1, 1], 5));
    u.acceptInProgress();
    u.truncateAndAppend([entry(3, 2)]);
    expect(u.offset).toBe(3);
    expect(u.offsetInProgress).toBe(3);
    expect(u.nextEntries().map((e) => e.index)).toEqual([3]);
  });
});
