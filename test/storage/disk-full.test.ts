// A write that fails for lack of space: the store refuses every later write
// with the same error until reopen(), nothing of the failed batch is kept, and
// after reopening everything acknowledged before and after survives. The real
// tmpfs case is the regression test for LevelDB losing writes that succeeded
// after a failed one when the store wrote on without reopening.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Entry } from "../../src/raft/types.js";
import { DiskStore, StorageIoError } from "../../src/storage/index.js";
import { mountTmpfs, type Tmpfs } from "../helpers/tmpfs.js";
import { bytes, entries, TmpDirs, text } from "./helpers.js";

const dirs = new TmpDirs();
afterAll(async () => {
  await dirs.cleanup();
});

function enospc(): Error {
  return Object.assign(new Error("IO error: /x/000003.log: No space left on device"), {
    code: "LEVEL_IO_ERROR",
  });
}

async function loadedStore(dir: string, options = {}): Promise<DiskStore> {
  const store = await DiskStore.open(dir, options);
  await store.load();
  return store;
}

describe("a failed write (simulated full disk)", () => {
  it("latches: every write fails until reopen, then all acknowledged data is there", async () => {
    const dir = await dirs.make("latch");
    let full = false;
    const store = await loadedStore(dir, {
      faults: { beforeWrite: () => (full ? enospc() : null) },
    });
    await store.persistRaft(entries(1, 3, 1), { term: 1, vote: 1, commit: 2 });
    await store.applyState([{ table: "kv", key: bytes("a"), value: bytes("1") }], 2);

    full = true;
    const failed = await store.persistRaft(entries(4, 5, 1), null).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(StorageIoError);
    expect(failed).toMatchObject({ diskFull: true, operation: "persistRaft" });
    expect((failed as Error).message).toMatch(new RegExp(`disk holding ${dir} is full`));
    expect(store.needsReopen).toBe(true);

    // Space is back, but the store still refuses: LevelDB has not recovered yet.
    full = false;
    await expect(
      store.applyState([{ table: "kv", key: bytes("b"), value: bytes("2") }], 3),
    ).rejects.toBe(failed);

    await store.reopen();
    expect(store.needsReopen).toBe(false);
    await store.persistRaft(entries(4, 5, 1), { term: 1, vote: 1, commit: 5 });
    await store.applyState([{ table: "kv", key: bytes("b"), value: bytes("2") }], 3);
    await store.close();

    const again = await DiskStore.open(dir);
    const loaded = await again.load();
    expect(loaded.entries.map((e: Entry) => e.index)).toEqual([1, 2, 3, 4, 5]);
    expect(loaded.appliedIndex).toBe(3);
    expect(text(await again.getState("kv", bytes("b")))).toBe("2");
    await again.close();
  });

  it("a failed batch leaves nothing behind (LevelDB batches are atomic)", async () => {
    const dir = await dirs.make("atomic");
    let full = false;
    const store = await loadedStore(dir, {
      faults: { beforeWrite: () => (full ? enospc() : null) },
    });
    await store.persistRaft(entries(1, 2, 1), { term: 1, vote: 1, commit: 2 });
    full = true;
    await expect(
      store.applyState(
        [
          { table: "kv", key: bytes("x"), value: bytes("1") },
          { table: "kv", key: bytes("y"), value: bytes("2") },
        ],
        2,
      ),
    ).rejects.toBeInstanceOf(StorageIoError);
    await store.close();
    const again = await DiskStore.open(dir);
    expect((await again.load()).appliedIndex).toBe(0);
    expect(await again.getState("kv", bytes("x"))).toBeUndefined();
    await again.close();
  });
});

const tmpfs = await mountTmpfs("disk-full-store", 8 * 1024 * 1024);
if (typeof tmpfs === "string") {
  console.warn(`SKIPPED: real full-disk storage test: ${tmpfs}`);
}

describe.skipIf(typeof tmpfs === "string")("a full tmpfs under a real LevelDB", () => {
  const fs = tmpfs as Tmpfs;
  beforeAll(() => {
    fs.drain();
  });
  afterAll(async () => {
    await fs.unmount();
  });

  it("fails the write with ENOSPC, recovers after reopen, and loses nothing acknowledged", async () => {
    const dir = `${fs.dir}/member`;
    const store = await loadedStore(dir);
    const value = bytes("v".repeat(3000));
    let index = 0;
    const append = async (count: number) => {
      const batch = entries(index + 1, index + count, 1).map((e) => ({ ...e, data: value }));
      await store.persistRaft(batch, { term: 1, vote: 1, commit: index + count });
      index += count;
    };
    await append(20);
    fs.fill(2048); // less than one record: the next write is torn half way
    const failed = await append(5).catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: "CAIRN_STORAGE_IO", diskFull: true });
    expect(store.needsReopen).toBe(true);
    // Still full: LevelDB cannot even recover, and the store stays latched.
    await expect(store.reopen()).rejects.toMatchObject({ diskFull: true });
    await expect(append(1)).rejects.toMatchObject({ diskFull: true });

    fs.drain();
    await store.reopen();
    await append(10);
    await store.close();

    const again = await DiskStore.open(dir);
    const loaded = await again.load();
    expect(loaded.entries.map((e) => e.index)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(loaded.hardState.commit).toBe(30);
    await again.close();
  });
});
