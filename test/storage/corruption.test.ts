// Damaged records are caught at load and named: bytes flipped in a log or meta
// record, a record copied under another key, a truncated value, a hole in the
// log, and a state row that fails its CRC when the state machine reads it.

import { afterEach, describe, expect, it } from "vitest";
import { CorruptRecordError, DiskStore } from "../../src/storage/index.js";
import { logKey, metaKey, stateKey } from "../../src/storage/keys.js";
import { bytes, entries, TmpDirs, withRawDb } from "./helpers.js";

const dirs = new TmpDirs();

afterEach(async () => {
  await dirs.cleanup();
});

/** A closed store holding log 1..5 (commit 4, applied 3) and one kv row. */
async function seededDir(): Promise<string> {
  const dir = await dirs.make("corrupt");
  const store = await DiskStore.open(dir);
  await store.load();
  await store.persistRaft(entries(1, 5, 1), { term: 1, vote: 1, commit: 4 });
  await store.setConfState({ voters: [1, 2, 3], learners: [] });
  await store.applyState([{ table: "kv", key: bytes("k"), value: bytes("value") }], 3);
  await store.close();
  return dir;
}

async function mutate(dir: string, key: Uint8Array, change: (value: Uint8Array) => Uint8Array) {
  await withRawDb(dir, async (db) => {
    const value = await db.get(key);
    expect(value).toBeDefined();
    await db.put(key, change(Uint8Array.from(value!)));
  });
}

function flip(offset: number): (value: Uint8Array) => Uint8Array {
  return (value) => {
    const at = offset < 0 ? value.byteLength + offset : offset;
    value[at] = value[at]! ^ 0x5a;
    return value;
  };
}

/** Opens and loads; returns the CorruptRecordError that must result. */
async function loadError(dir: string): Promise<CorruptRecordError> {
  let store: DiskStore | undefined;
  try {
    store = await DiskStore.open(dir);
    await store.load();
  } catch (error) {
    expect(error).toBeInstanceOf(CorruptRecordError);
    return error as CorruptRecordError;
  } finally {
    await store?.close();
  }
  throw new Error("expected load to fail with CorruptRecordError");
}

describe("corrupt records are refused and named", () => {
  it("a flipped byte in a log record names the log index and the data dir", async () => {
    const dir = await seededDir();
    await mutate(dir, logKey(3), flip(-1));
    const error = await loadError(dir);
    expect(error.code).toBe("CAIRN_CORRUPT_RECORD");
    expect(error.record).toBe("log index 3");
    expect(error.dataDir).toBe(dir);
    expect(error.message).toContain(dir);
    expect(error.message).toContain("log index 3");
    expect(error.message).toMatch(/CRC mismatch/);
    expect(error.message).toMatch(/resyncs from the leader|restore the data dir/);
  });

  it("every single-byte flip anywhere in a log record is caught (header included)", async () => {
    const dir = await seededDir();
    let recordBytes = 0;
    await withRawDb(dir, async (db) => {
      recordBytes = (await db.get(logKey(2)))!.byteLength;
    });
    expect(recordBytes).toBeGreaterThan(20);
    for (let offset = 0; offset < recordBytes; offset++) {
      await mutate(dir, logKey(2), flip(offset));
      expect((await loadError(dir)).record).toBe("log index 2");
      await mutate(dir, logKey(2), flip(offset)); // flip back: the next round starts clean
    }
    const store = await DiskStore.open(dir);
    expect((await store.load()).entries).toHaveLength(5);
    await store.close();
  });

  it("a flipped byte in the hard state names meta hard-state", async () => {
    const dir = await seededDir();
    await mutate(dir, metaKey("hard-state"), flip(10));
    expect((await loadError(dir)).record).toBe("meta hard-state");
  });

  it("a flipped byte in the conf state and the applied index is caught too", async () => {
    const confDir = await seededDir();
    await mutate(confDir, metaKey("conf-state"), flip(-3));
    expect((await loadError(confDir)).record).toBe("meta conf-state");
    const appliedDir = await seededDir();
    await mutate(appliedDir, metaKey("applied-index"), flip(-1));
    expect((await loadError(appliedDir)).record).toBe("meta applied-index");
  });

  it("a damaged format version is refused already by open", async () => {
    const dir = await seededDir();
    await mutate(dir, metaKey("format-version"), flip(-1));
    const error = await DiskStore.open(dir).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CorruptRecordError);
    expect((error as CorruptRecordError).record).toBe("meta format-version");
  });

  it("a valid record copied under another key fails (the CRC covers the key)", async () => {
    const dir = await seededDir();
    await withRawDb(dir, async (db) => {
      await db.put(logKey(4), (await db.get(logKey(2)))!);
    });
    const error = await loadError(dir);
    expect(error.record).toBe("log index 4");
    expect(error.reason).toMatch(/CRC mismatch/);
  });

  it("a truncated value fails its length check", async () => {
    const dir = await seededDir();
    await mutate(dir, logKey(5), (value) => value.subarray(0, value.byteLength - 2));
    const error = await loadError(dir);
    expect(error.record).toBe("log index 5");
    expect(error.reason).toMatch(/payload bytes/);
  });

  it("a hole in the log names the missing index", async () => {
    const dir = await seededDir();
    await withRawDb(dir, (db) => db.del(logKey(3)));
    const error = await loadError(dir);
    expect(error.record).toBe("log index 3");
    expect(error.reason).toMatch(/missing: the log jumps from 2 to 4/);
  });

  it("a lost log tail under a recorded commit is refused", async () => {
    const dir = await seededDir();
    await withRawDb(dir, async (db) => {
      await db.batch([
        { type: "del", key: logKey(4) },
        { type: "del", key: logKey(5) },
      ]);
    });
    const error = await loadError(dir);
    expect(error.record).toBe("meta hard-state");
    expect(error.reason).toMatch(/commit index 4 is beyond the last log index 3/);
  });

  it("a missing format version in a non-empty dir is corruption, not a fresh store", async () => {
    const dir = await seededDir();
    await withRawDb(dir, (db) => db.del(metaKey("format-version")));
    const error = await DiskStore.open(dir).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CorruptRecordError);
    expect((error as CorruptRecordError).record).toBe("meta format-version");
  });

  it("a damaged state row fails when iterated and when read", async () => {
    const dir = await seededDir();
    await mutate(dir, stateKey("kv", bytes("k")), flip(-2));
    const store = await DiskStore.open(dir);
    try {
      await store.load(); // state tables are checked as the state machine reads them
      const iterate = async () => {
        for await (const _ of store.iterateTable("kv")) {
          // draining is enough
        }
      };
      await expect(iterate()).rejects.toThrow(CorruptRecordError);
      await expect(iterate()).rejects.toThrow(/state table "kv" key 0x6b/);
      await expect(store.getState("kv", bytes("k"))).rejects.toThrow(/state table "kv" key 0x6b/);
    } finally {
      await store.close();
    }
  });
});
