// DiskStore against a real LevelDB: what is written comes back after close and
// reopen, overwrites truncate, state batches carry the applied index, the log
// compacts, and misuse trips assertions instead of writing bad data.

import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import type { HardState } from "../../src/raft/types.js";
import {
  DiskStore,
  StorageIoError,
  StorageLockedError,
  UnsupportedFormatError,
} from "../../src/storage/index.js";
import { metaKey } from "../../src/storage/keys.js";
import { encodeCounter } from "../../src/storage/meta-record.js";
import { AssertionError } from "../../src/util/assert.js";
import { bytes, entries, entry, plain, TmpDirs, text, withRawDb } from "./helpers.js";

const dirs = new TmpDirs();
const open: DiskStore[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((store) => store.close()));
  await dirs.cleanup();
});

async function openStore(dir: string, options = {}): Promise<DiskStore> {
  const store = await DiskStore.open(dir, options);
  open.push(store);
  return store;
}

async function reopen(store: DiskStore): Promise<DiskStore> {
  await store.close();
  return openStore(store.dataDir);
}

function hs(term: number, vote: number, commit: number): HardState {
  return { term, vote, commit };
}

describe("DiskStore round trip", () => {
  it("starts empty in a new dir, creating missing parents", async () => {
    const dir = `${await dirs.make()}/nested/node-1`;
    const store = await openStore(dir);
    expect(await store.load()).toEqual({
      hardState: hs(0, 0, 0),
      confState: null,
      appliedIndex: 0,
      firstIndex: 1,
      entries: [],
      snapshotMeta: null,
      identity: null,
    });
  });

  it("records the member identity once and reloads it", async () => {
    const dir = await dirs.make();
    const store = await openStore(dir);
    await store.load();
    await store.setIdentity({ memberId: 0xabc, clusterId: 0xdef });
    await store.close();
    const again = await openStore(dir);
    expect((await again.load()).identity).toEqual({ memberId: 0xabc, clusterId: 0xdef });
    await again.close();
  });

  it("reloads entries, hard state, conf state, applied index and snapshot meta", async () => {
    const store = await openStore(await dirs.make());
    await store.load();
    const written = [...entries(1, 3, 1), entry(4, 2, "conf-change"), entry(5, 2)];
    written.push({ index: 6, term: 2, kind: "normal", data: new Uint8Array(0) });
    await store.persistRaft(written, hs(2, 3, 4));
    await store.setConfState({ voters: [1, 2, 3], learners: [9] });
    await store.applyState([{ table: "kv", key: bytes("a"), value: bytes("1") }], 4);
    await store.setSnapshotMeta({ index: 3, term: 1, confState: { voters: [1], learners: [] } });

    const loaded = await (await reopen(store)).load();
    expect(plain(loaded.entries)).toEqual(plain(written));
    expect(loaded.hardState).toEqual(hs(2, 3, 4));
    expect(loaded.confState).toEqual({ voters: [1, 2, 3], learners: [9] });
    expect(loaded.appliedIndex).toBe(4);
    expect(loaded.firstIndex).toBe(1);
    expect(loaded.snapshotMeta).toEqual({
      index: 3,
      term: 1,
      confState: { voters: [1], learners: [] },
    });
  });

  it("keeps large terms and indexes exact (u64 encoding above 2^32)", async () => {
    const store = await openStore(await dirs.make());
    await store.load();
    const bigTerm = 2 ** 40 + 7;
    await store.persistRaft(entries(1, 2, bigTerm), hs(bigTerm, 2 ** 33 + 1, 2));
    const loaded = await (await reopen(store)).load();
    expect(loaded.hardState).toEqual(hs(bigTerm, 2 ** 33 + 1, 2));
    expect(loaded.entries.map((e) => e.term)).toEqual([bigTerm, bigTerm]);
  });

  it("reports each synced persistRaft batch to onSync", async () => {
    const syncs: Array<[number, number, number]> = [];
    const store = await openStore(await dirs.make(), {
      onSync: (durationMs: number, count: number, written: number) => {
        syncs.push([durationMs, count, written]);
      },
    });
    await store.load();
    await store.persistRaft(entries(1, 3, 1), hs(1, 1, 0));
    await store.persistRaft([], hs(1, 1, 2));
    await store.persistRaft([], null); // nothing to write: no sync, no report
    expect(syncs.map(([, count]) => count)).toEqual([3, 0]);
    for (const [durationMs, , written] of syncs) {
      expect(durationMs).toBeGreaterThanOrEqual(0);
      expect(written).toBeGreaterThan(0);
    }
    expect(syncs[0]![2]).toBeGreaterThan(syncs[1]![2]);
  });
});

describe("DiskStore unsynced commit-only batches", () => {
  it("persists a commit-only hard state without fsync, and reports only synced batches", async () => {
    const syncs: number[] = [];
    const store = await openStore(await dirs.make(), {
      onSync: (_ms: number, n: number) => syncs.push(n),
    });
    await store.load();
    await store.persistRaft(entries(1, 3, 1), hs(1, 1, 0));
    await store.persistRaft([], hs(1, 1, 3), { sync: false });
    expect(syncs).toEqual([3]);
    expect((await (await reopen(store)).load()).hardState).toEqual(hs(1, 1, 3));
  });

  it("refuses to write log entries without fsync", async () => {
    const store = await openStore(await dirs.make());
    await store.load();
    expect(() => store.persistRaft(entries(1, 1, 1), hs(1, 1, 0), { sync: false })).toThrow(
      AssertionError,
    );
  });
});

describe("DiskStore truncation", () => {
  it("an overwrite at i deletes the old tail beyond the new entries", async () => {
    const store = await openStore(await dirs.make());
    await store.load();
    await store.persistRaft(entries(1, 10, 1), hs(1, 1, 2));
    await store.persistRaft(entries(5, 6, 2), hs(2, 2, 2));
    const loaded = await (await reopen(store)).load();
    expect(plain(loaded.entries)).toEqual(plain([...entries(1, 4, 1), ...entries(5, 6, 2)]));
  });

  it("tracks the last index across reopen, so a later overwrite still truncates", async () => {
    const store = await openStore(await dirs.make());
    await store.load();
    await store.persistRaft(entries(1, 8, 1), hs(1, 1, 1));
    const second = await reopen(store);
    await second.load();
    await second.persistRaft([entry(3, 3)], hs(3, 0, 1));
    const loaded = await (await reopen(second)).load();
    expect(plain(loaded.entries)).toEqual(plain([...entries(1, 2, 1), entry(3, 3)]));
  });

  it("an overwrite longer than the old tail replaces it entirely", async () => {
    const store = await openStore(await dirs.make());
    await store.load();
    await store.persistRaft(entries(1, 4, 1), hs(1, 1, 0));
    await store.persistRaft(entries(2, 7, 2), hs(2, 1, 0));
    const loaded = await (await reopen(store)).load();
    expect(plain(loaded.entries)).toEqual(plain([entry(1, 1), ...entries(2, 7, 2)]));
  });
});

describe("DiskStore state tables", () => {
  it("applyState writes puts, deletes and the applied index together", async () => {
    const store = await openStore(await dirs.make());
    await store.load();
    await store.persistRaft(entries(1, 3, 1), hs(1, 1, 3));
    await store.applyState(
      [
        { table: "kv", key: bytes("b"), value: bytes("2") },
        { table: "kv", key: bytes("a"), value: bytes("1") },
        { table: "kv", key: bytes("c"), value: bytes("3") },
        { table: "kv-meta", key: bytes("rev"), value: bytes("7") },
      ],
      2,
    );
    await store.applyState([{ table: "kv", key: bytes("c"), value: null }], 3);

    const reopened = await reopen(store);
    expect((await reopened.load()).appliedIndex).toBe(3);
    const rows: Array<[string | undefined, string | undefined]> = [];
    for await (const [key, value] of reopened.iterateTable("kv")) {
      rows.push([text(key), text(value)]);
    }
    expect(rows).toEqual([
      ["a", "1"],
      ["b", "2"],
    ]);
    expect(text(await reopened.getState("kv-meta", bytes("rev")))).toBe("7");
    expect(await reopened.getState("kv", bytes("c"))).toBeUndefined();
  });

  it("keeps tables apart even when one name is a prefix of another", async () => {
    const store = await openStore(await dirs.make());
    await store.load();
    await store.persistRaft(entries(1, 1, 1), hs(1, 1, 1));
    await store.applyState(
      [
        { table: "ab", key: bytes("c"), value: bytes("in ab") },
        { table: "a", key: bytes("bc"), value: bytes("in a") },
        { table: "a", key: new Uint8Array(0), value: bytes("empty key") },
      ],
      1,
    );
    const inA: string[] = [];
    for await (const [key, value] of store.iterateTable("a")) {
      inA.push(`${text(key)}=${text(value)}`);
    }
    expect(inA).toEqual(["=empty key", "bc=in a"]);
    expect(text(await store.getState("ab", bytes("c")))).toBe("in ab");
    expect(await store.getState("ab", bytes("bc"))).toBeUndefined();
  });

  it("applyState can carry the commit index covering its rows, in the same batch", async () => {
    const store = await openStore(await dirs.make());
    await store.load();
    await store.persistRaft(entries(1, 4, 1), hs(1, 1, 1));
    await store.applyState([{ table: "kv", key: bytes("a"), value: bytes("1") }], 3, {
      hardState: hs(1, 1, 3),
    });
    const reopened = await reopen(store);
    const loaded = await reopened.load();
    expect(loaded.hardState).toEqual(hs(1, 1, 3));
    expect(loaded.appliedIndex).toBe(3);
    // Only a newer commit index, covering the rows; a term or vote goes through persistRaft.
    await expect(reopened.applyState([], 4, { hardState: hs(1, 1, 3) })).rejects.toThrow(
      /beyond commit index 3/,
    );
    await expect(reopened.applyState([], 4, { hardState: hs(2, 1, 4) })).rejects.toThrow(
      /term and vote go through persistRaft/,
    );
    await expect(reopened.applyState([], 4, { hardState: hs(1, 1, 5) })).rejects.toThrow(
      /outside \[3, 4\]/,
    );
  });

  it("a rejected applyState writes nothing: neither the rows nor the applied index", async () => {
    const store = await openStore(await dirs.make());
    await store.load();
    await store.persistRaft(entries(1, 2, 1), hs(1, 1, 2));
    await store.applyState([{ table: "kv", key: bytes("x"), value: bytes("1") }], 1);
    const bad = store.applyState(
      [
        { table: "kv", key: bytes("y"), value: bytes("2") },
        { table: "Not A Table", key: bytes("z"), value: bytes("3") },
      ],
      2,
    );
    await expect(bad).rejects.toThrow(AssertionError);
    const reopened = await reopen(store);
    expect((await reopened.load()).appliedIndex).toBe(1);
    expect(await reopened.getState("kv", bytes("y"))).toBeUndefined();
  });
});

describe("DiskStore compactLog", () => {
  it("drops entries below the index and remembers the new first index", async () => {
    const store = await openStore(await dirs.make());
    await store.load();
    await store.persistRaft(entries(1, 10, 1), hs(1, 1, 10));
    await store.applyState([], 8, { sync: true });
    await store.compactLog(6);
    await store.compactLog(4); // already compacted past it: no-op
    const reopened = await reopen(store);
    const loaded = await reopened.load();
    expect(loaded.firstIndex).toBe(6);
    expect(plain(loaded.entries)).toEqual(plain(entries(6, 10, 1)));
    await reopened.persistRaft([entry(11, 1)], null);
    expect(plain((await (await reopen(reopened)).load()).entries)).toEqual(
      plain(entries(6, 11, 1)),
    );
  });

  it("can compact the whole log; the next append starts right after it", async () => {
    const store = await openStore(await dirs.make());
    await store.load();
    await store.persistRaft(entries(1, 5, 1), hs(1, 1, 5));
    await store.applyState([], 5);
    await store.compactLog(6);
    const reopened = await reopen(store);
    const loaded = await reopened.load();
    expect(loaded).toMatchObject({ firstIndex: 6, entries: [], appliedIndex: 5 });
    await expect(reopened.persistRaft([entry(7, 1)], null)).rejects.toThrow(/append at 7/);
    await reopened.persistRaft([entry(6, 1)], null);
  });

  it("refuses to compact entries that are not applied yet", async () => {
    const store = await openStore(await dirs.make());
    await store.load();
    await store.persistRaft(entries(1, 5, 1), hs(1, 1, 5));
    await store.applyState([], 2);
    await expect(store.compactLog(4)).rejects.toThrow(AssertionError);
    await store.compactLog(3);
  });
});

describe("DiskStore contract assertions", () => {
  it("rejects a second persistRaft while the first is in flight", async () => {
    const store = await openStore(await dirs.make());
    await store.load();
    const first = store.persistRaft(entries(1, 2, 1), hs(1, 1, 0));
    const second = store.persistRaft([entry(3, 1)], null);
    await expect(second).rejects.toThrow(/in flight/);
    await first;
    await store.persistRaft([entry(3, 1)], null);
  });

  it("lets applyState run while persistRaft is in flight (disjoint lanes)", async () => {
    const store = await openStore(await dirs.make());
    await store.load();
    await store.persistRaft(entries(1, 2, 1), hs(1, 1, 2));
    await Promise.all([
      store.persistRaft([entry(3, 1)], null),
      store.applyState([{ table: "kv", key: bytes("k"), value: bytes("v") }], 2),
    ]);
    expect((await (await reopen(store)).load()).appliedIndex).toBe(2);
  });

  it("rejects gaps, committed overwrites and backwards hard state", async () => {
    const store = await openStore(await dirs.make());
    await store.load();
    await expect(store.persistRaft([entry(2, 1)], hs(1, 0, 0))).rejects.toThrow(/append at 2/);
    await store.persistRaft(entries(1, 4, 2), hs(2, 1, 3));
    await expect(store.persistRaft([entry(5, 2), entry(7, 2)], null)).rejects.toThrow(
      /not contiguous/,
    );
    await expect(store.persistRaft([entry(3, 2)], null)).rejects.toThrow(/committed through 3/);
    await expect(store.persistRaft([], hs(1, 1, 3))).rejects.toThrow(/term went back/);
    await expect(store.persistRaft([], hs(2, 1, 2))).rejects.toThrow(/commit went back/);
    await expect(store.persistRaft([], hs(2, 2, 3))).rejects.toThrow(/vote changed/);
    await expect(store.persistRaft([], hs(2, 1, 5))).rejects.toThrow(/beyond last log index 4/);
    await expect(store.persistRaft([entry(5, 3)], null)).rejects.toThrow(/> hard state term/);
    await expect(store.applyState([], 5)).rejects.toThrow(/beyond log 4/);
    const loaded = await (await reopen(store)).load();
    expect(plain(loaded.entries)).toEqual(plain(entries(1, 4, 2)));
    expect(loaded.hardState).toEqual(hs(2, 1, 3));
  });

  it("requires load() before writes and allows it only once", async () => {
    const store = await openStore(await dirs.make());
    await expect(store.persistRaft([entry(1, 1)], null)).rejects.toThrow(/loaded/);
    await store.load();
    await expect(store.load()).rejects.toThrow(AssertionError);
  });
});

describe("DiskStore operating errors", () => {
  it("a data dir held by another store is a StorageLockedError", async () => {
    const dir = await dirs.make();
    await openStore(dir);
    const error = await DiskStore.open(dir).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StorageLockedError);
    expect(error).toMatchObject({ code: "CAIRN_STORAGE_LOCKED", dataDir: dir });
  });

  it("a data dir path that cannot be created is a StorageIoError", async () => {
    const dir = await dirs.make();
    const blocker = `${dir}/not-a-dir`;
    await writeFile(blocker, "x");
    const error = await DiskStore.open(`${blocker}/data`).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StorageIoError);
    expect(error).toMatchObject({ code: "CAIRN_STORAGE_IO", diskFull: false });
  });

  it("a newer format version is refused with CAIRN_STORAGE_FORMAT", async () => {
    const dir = await dirs.make();
    await (await DiskStore.open(dir)).close();
    await withRawDb(dir, async (db) => {
      const key = metaKey("format-version");
      await db.put(key, encodeCounter(key, 99));
    });
    const error = await DiskStore.open(dir).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnsupportedFormatError);
    expect(error).toMatchObject({ code: "CAIRN_STORAGE_FORMAT", foundVersion: 99 });
  });
});

describe("DiskStore size", () => {
  it("approximateSizeBytes grows with what is written", async () => {
    const store = await openStore(await dirs.make());
    await store.load();
    const before = await store.approximateSizeBytes();
    const bigEntries = [1, 2, 3, 4].map((index) => ({
      ...entry(index, 1),
      data: randomBytes(256 * 1024),
    }));
    await store.persistRaft(bigEntries, hs(1, 1, 0));
    const after = await store.approximateSizeBytes();
    expect(before).toBeGreaterThan(0);
    expect(after - before).toBeGreaterThanOrEqual(1024 * 1024);
  });
});
