// MemoryStorage: the dummy entry at the snapshot index, truncating appends,
// compaction and snapshots, and the typed errors of the Storage contract.

import { describe, expect, it } from "vitest";
import {
  MemoryStorage,
  StorageCompactedError,
  StorageSnapshotOutOfDateError,
  StorageUnavailableError,
} from "../../src/raft/index.js";
import { AssertionError } from "../../src/util/assert.js";
import { entriesWithTerms, entry, termsOf } from "./helpers.js";

function storageWith(terms: readonly number[]): MemoryStorage {
  const storage = new MemoryStorage({ confState: { voters: [1, 2, 3], learners: [] } });
  storage.append(entriesWithTerms(terms));
  return storage;
}

describe("MemoryStorage", () => {
  it("starts empty with index range [1, 0] and term 0 at index 0", () => {
    const storage = new MemoryStorage();
    expect(storage.firstIndex()).toBe(1);
    expect(storage.lastIndex()).toBe(0);
    expect(storage.term(0)).toBe(0);
    expect(storage.entries(1, 1, 100)).toEqual([]);
    expect(() => storage.term(1)).toThrow(StorageUnavailableError);
  });

  it("keeps initial state and conf state", () => {
    const storage = new MemoryStorage({
      confState: { voters: [1, 2], learners: [] },
      hardState: { term: 3, vote: 2, commit: 0 },
    });
    expect(storage.initialState().hardState).toEqual({ term: 3, vote: 2, commit: 0 });
    storage.setHardState({ term: 4, vote: 0, commit: 0 });
    storage.setConfState({ voters: [1, 2, 3], learners: [] });
    expect(storage.initialState()).toEqual({
      hardState: { term: 4, vote: 0, commit: 0 },
      confState: { voters: [1, 2, 3], learners: [] },
    });
  });

  it("appends, and truncates a conflicting suffix", () => {
    const storage = storageWith([1, 1, 2, 2]);
    storage.append([entry(3, 3), entry(4, 3), entry(5, 3)]);
    expect(termsOf(storage.entries(1, 6, Infinity))).toEqual([1, 1, 3, 3, 3]);
    storage.append([entry(2, 4)]);
    expect(storage.lastIndex()).toBe(2);
    expect(termsOf(storage.entries(1, 3, Infinity))).toEqual([1, 4]);
  });

  it("refuses appends that leave a gap or break term order", () => {
    const storage = storageWith([1, 1]);
    expect(() => storage.append([entry(4, 1)])).toThrow(AssertionError);
    expect(() => storage.append([entry(3, 2), entry(4, 1)])).toThrow(AssertionError);
    expect(() => storage.append([entry(3, 2), entry(5, 2)])).toThrow(AssertionError);
  });

  it("limits entries by bytes but always returns at least one", () => {
    const storage = storageWith([1, 1, 1, 1]);
    expect(storage.entries(1, 5, 0)).toHaveLength(1);
    const oneSize = 24 + "e1t1".length;
    expect(storage.entries(1, 5, oneSize * 2)).toHaveLength(2);
    expect(storage.entries(1, 5, Infinity)).toHaveLength(4);
    expect(() => storage.entries(1, 6, Infinity)).toThrow(StorageUnavailableError);
  });

  it("compacts: the entry at the compaction index becomes the dummy", () => {
    const storage = storageWith([1, 1, 2, 3]);
    storage.compact(2);
    expect(storage.firstIndex()).toBe(3);
    expect(storage.term(2)).toBe(1);
    expect(() => storage.term(1)).toThrow(StorageCompactedError);
    expect(() => storage.entries(2, 4, Infinity)).toThrow(StorageCompactedError);
    expect(termsOf(storage.entries(3, 5, Infinity))).toEqual([2, 3]);
    expect(() => storage.compact(2)).toThrow(StorageCompactedError);
    // Appending over a compacted prefix keeps only the new part.
    storage.append([entry(2, 1), entry(3, 2), entry(4, 4)]);
    expect(termsOf(storage.entries(3, 5, Infinity))).toEqual([2, 4]);
  });

  it("applies newer snapshots only", () => {
    const storage = storageWith([1, 1, 1]);
    const confState = { voters: [1, 2, 3, 4], learners: [] };
    storage.applySnapshot({ meta: { index: 10, term: 5, confState }, data: new Uint8Array([1]) });
    expect(storage.firstIndex()).toBe(11);
    expect(storage.lastIndex()).toBe(10);
    expect(storage.term(10)).toBe(5);
    expect(storage.initialState().confState).toEqual(confState);
    expect(storage.snapshot().meta.index).toBe(10);
    expect(() =>
      storage.applySnapshot({ meta: { index: 10, term: 5, confState }, data: new Uint8Array() }),
    ).toThrow(StorageSnapshotOutOfDateError);
  });
});
