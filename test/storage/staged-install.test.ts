// Receiving a snapshot into DiskStore: staged rows replace the state in
// bounded batches, and a crash after any number of batches (the test hook
// stops the install there, then the store is reopened) leaves either the old
// state or, once the synced marker is written, the new one after load().

import { afterEach, describe, expect, it } from "vitest";
import type { ConfState, HardState, SnapshotMeta } from "../../src/raft/types.js";
import { CorruptRecordError, DiskStore, type DiskStoreOptions } from "../../src/storage/index.js";
import { encodeInstallMarker } from "../../src/storage/install-marker.js";
import { metaKey, STAGE_RANGE, stageKey } from "../../src/storage/keys.js";
import { SimulatedCrashError, type StagedRow } from "../../src/storage/staged-install.js";
import { AssertionError } from "../../src/util/assert.js";
import { bytes, entries, entry, plain, TmpDirs, text, withRawDb } from "./helpers.js";

const dirs = new TmpDirs();
const open: DiskStore[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((store) => store.close()));
  await dirs.cleanup();
});

const TABLES = ["kv", "lease", "users"] as const;
const OLD_CONF: ConfState = { voters: [1, 2, 3], learners: [] };
const OLD_HARD_STATE: HardState = { term: 3, vote: 1, commit: 8 };
const META: SnapshotMeta = {
  index: 40,
  term: 5,
  confState: { voters: [1, 2, 4], learners: [5] },
};
/** Small batches so an install takes many steps, each a place to crash. */
const SMALL_BATCHES: DiskStoreOptions = { installBatchOpsMax: 3 };

async function openStore(dir: string, options: DiskStoreOptions = {}): Promise<DiskStore> {
  const store = await DiskStore.open(dir, options);
  open.push(store);
  return store;
}

async function closeStore(store: DiskStore): Promise<void> {
  open.splice(open.indexOf(store), 1);
  await store.close();
}

function row(table: string, key: string, value: string): StagedRow {
  return { table, key: bytes(key), value: bytes(value) };
}

const OLD_ROWS: StagedRow[] = [
  row("kv", "a", "old-a"),
  row("kv", "b", "old-b"),
  row("kv", "gone", "old-gone"),
  row("lease", "l1", "old-lease"),
  row("users", "u-old", "old-user"),
];

/** Overlaps the old keys with new values, drops some, adds others. */
const NEW_ROWS: StagedRow[] = [
  row("kv", "a", "new-a"),
  row("kv", "b", "new-b"),
  row("kv", "c", "new-c"),
  row("lease", "l2", "new-lease"),
  row("users", "u-new", "new-user"),
  row("users", "u-other", "new-user-2"),
];

/** Old state: log 1..10 in term 2, commit 8, applied 8 with OLD_ROWS. */
async function seedOldState(store: DiskStore): Promise<void> {
  await store.load();
  await store.setConfState(OLD_CONF);
  await store.persistRaft(entries(1, 10, 2), OLD_HARD_STATE);
  await store.applyState(OLD_ROWS, 8);
}

async function stage(store: DiskStore, rows: readonly StagedRow[], stagingId = 77): Promise<void> {
  await store.beginSnapshotStaging(stagingId);
  // Two batches, as the transport would feed them.
  await store.stageRows(rows.slice(0, 2));
  await store.stageRows(rows.slice(2));
}

async function readTables(store: DiskStore): Promise<string[]> {
  const out: string[] = [];
  for (const table of TABLES) {
    for await (const [key, value] of store.iterateTable(table)) {
      out.push(`${table}/${text(key)}=${text(value)}`);
    }
  }
  return out;
}

/** What readTables returns for these rows: table by table, keys in byte order. */
function describeRows(rows: readonly StagedRow[]): string[] {
  return TABLES.flatMap((table) =>
    rows
      .filter((r) => r.table === table)
      .sort((a, b) => Buffer.compare(a.key, b.key))
      .map((r) => `${table}/${text(r.key)}=${text(r.value)}`),
  );
}

async function stagedKeyCount(dir: string): Promise<number> {
  let count = 0;
  await withRawDb(dir, async (db) => {
    count = (await db.keys({ gte: STAGE_RANGE.gte, lt: STAGE_RANGE.lt }).all()).length;
  });
  return count;
}

async function hasMarker(dir: string): Promise<boolean> {
  let present = false;
  await withRawDb(dir, async (db) => {
    present = (await db.get(metaKey("snapshot-install"))) !== undefined;
  });
  return present;
}

/** Asserts the reopened store holds exactly the pre-install state. */
async function expectOldState(dir: string): Promise<void> {
  const store = await openStore(dir);
  const loaded = await store.load();
  expect(loaded.recoveredInstall).toBeUndefined();
  expect(loaded.hardState).toEqual(OLD_HARD_STATE);
  expect(loaded.confState).toEqual(OLD_CONF);
  expect(loaded.appliedIndex).toBe(8);
  expect(loaded.firstIndex).toBe(1);
  expect(plain(loaded.entries)).toEqual(plain(entries(1, 10, 2)));
  expect(loaded.snapshotMeta).toBeNull();
  expect(await readTables(store)).toEqual(describeRows(OLD_ROWS));
  await closeStore(store);
  expect(await stagedKeyCount(dir)).toBe(0);
}

/** Asserts the reopened store holds exactly the installed snapshot. */
async function expectNewState(dir: string): Promise<void> {
  const store = await openStore(dir);
  const loaded = await store.load();
  expect(loaded.hardState).toEqual({ ...OLD_HARD_STATE, commit: META.index });
  expect(loaded.confState).toEqual(META.confState);
  expect(loaded.appliedIndex).toBe(META.index);
  expect(loaded.firstIndex).toBe(META.index + 1);
  expect(loaded.entries).toEqual([]);
  expect(loaded.snapshotMeta).toEqual(META);
  expect(await readTables(store)).toEqual(describeRows(NEW_ROWS));
  await closeStore(store);
  expect(await stagedKeyCount(dir)).toBe(0);
  expect(await hasMarker(dir)).toBe(false);
}

describe("installStagedSnapshot", () => {
  it("replaces the state, the log and the meta records", async () => {
    const dir = await dirs.make();
    const store = await openStore(dir, SMALL_BATCHES);
    await seedOldState(store);
    await stage(store, NEW_ROWS);
    await store.installStagedSnapshot(META);
    expect(await readTables(store)).toEqual(describeRows(NEW_ROWS));
    await closeStore(store);
    await expectNewState(dir);
  });

  it("leaves mirrors that let the log continue right after the snapshot", async () => {
    const dir = await dirs.make();
    const store = await openStore(dir);
    await seedOldState(store);
    await stage(store, NEW_ROWS);
    await store.installStagedSnapshot(META);
    // The hard state's commit and the snapshot index were raised to 40.
    await expect(store.persistRaft([], { ...OLD_HARD_STATE, commit: 39 })).rejects.toThrow(
      "commit went back: 40 -> 39",
    );
    await expect(store.setSnapshotMeta({ ...META, index: 39 })).rejects.toThrow(
      "snapshot index 39 < 40",
    );
    // firstIndex = lastIndex + 1 = 41: the next append must start exactly there.
    await expect(store.persistRaft([entry(META.index + 2, 5)], null)).rejects.toThrow(
      AssertionError,
    );
    const next = META.index + 1;
    await store.persistRaft([entry(next, 5)], { term: 5, vote: 0, commit: next });
    await store.applyState([row("kv", "d", "after")], next);
    // The applied index moved on from the snapshot's, not from the old one.
    await expect(store.applyState([], next)).rejects.toThrow(AssertionError);
    await store.compactLog(next + 1);
    await closeStore(store);
    const reopened = await openStore(dir);
    const loaded = await reopened.load();
    expect(loaded.appliedIndex).toBe(next);
    expect(loaded.firstIndex).toBe(next + 1);
    expect(loaded.entries).toEqual([]);
    expect(text(await reopened.getState("kv", bytes("d")))).toBe("after");
  });

  it("makes readers that start during the install wait for all of it", async () => {
    const store = await openStore(await dirs.make(), { installBatchOpsMax: 2 });
    await seedOldState(store);
    await stage(store, NEW_ROWS);
    const installing = store.installStagedSnapshot(META);
    const exported: string[] = [];
    let applied = -1;
    for await (const record of store.exportState(TABLES)) {
      if (record.kind === "applied") applied = record.appliedIndex;
      else exported.push(`${record.table}/${text(record.key)}=${text(record.value)}`);
    }
    await installing;
    expect(applied).toBe(META.index);
    expect(exported).toEqual(describeRows(NEW_ROWS));
  });

  it("installs an empty snapshot as empty tables", async () => {
    const dir = await dirs.make();
    const store = await openStore(dir);
    await seedOldState(store);
    await store.beginSnapshotStaging(1);
    await store.installStagedSnapshot(META);
    expect(await readTables(store)).toEqual([]);
  });

  it("refuses misuse with assertions and writes nothing", async () => {
    const dir = await dirs.make();
    const store = await openStore(dir);
    await seedOldState(store);
    await expect(store.installStagedSnapshot(META)).rejects.toThrow(/needs a staged snapshot/);
    await expect(store.stageRows(NEW_ROWS)).rejects.toThrow(/beginSnapshotStaging/);
    await stage(store, NEW_ROWS);
    await expect(store.installStagedSnapshot({ ...META, index: 7 })).rejects.toThrow(
      /behind applied 8/,
    );
    const applying = store.applyState([], 9);
    await expect(store.installStagedSnapshot(META)).rejects.toThrow(/applyState\(\) is in flight/);
    await applying;
    await closeStore(store);
    expect(await hasMarker(dir)).toBe(false);
  });

  it("refuses to finish an install whose staged row fails its CRC", async () => {
    const dir = await dirs.make();
    const store = await openStore(dir);
    await seedOldState(store);
    await stage(store, NEW_ROWS);
    await closeStore(store);
    // As if the disk rotted a staged row after the marker was written: load()
    // must name the record and refuse, not install a damaged state.
    const victim = stageKey("kv", bytes("c"));
    await withRawDb(dir, async (db) => {
      const value = (await db.get(victim))!.slice();
      value[value.byteLength - 1]! ^= 0x01;
      await db.put(victim, value);
      const key = metaKey("snapshot-install");
      await db.put(key, encodeInstallMarker(key, { phase: "clear", stagingId: 77, meta: META }));
    });
    const reopened = await openStore(dir);
    const failure = await reopened.load().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CorruptRecordError);
    expect((failure as CorruptRecordError).record).toBe(
      'staged snapshot row of table "kv" key 0x63',
    );
  });
});

describe("staging", () => {
  it("abortStaging deletes every staged row and allows a fresh start", async () => {
    const dir = await dirs.make();
    const store = await openStore(dir, SMALL_BATCHES);
    await seedOldState(store);
    await stage(store, NEW_ROWS);
    await store.abortStaging();
    await expect(store.stageRows(NEW_ROWS)).rejects.toThrow(/beginSnapshotStaging/);
    await closeStore(store);
    expect(await stagedKeyCount(dir)).toBe(0);
    await expectOldState(dir);
  });

  it("beginSnapshotStaging drops what an earlier staging left", async () => {
    const dir = await dirs.make();
    const store = await openStore(dir);
    await seedOldState(store);
    await stage(store, [row("kv", "stale", "from-an-aborted-transfer"), ...NEW_ROWS]);
    await stage(store, NEW_ROWS, 78);
    await store.installStagedSnapshot(META);
    await closeStore(store);
    await expectNewState(dir);
  });

  it("load() drops staged rows that no install claimed", async () => {
    const dir = await dirs.make();
    const store = await openStore(dir);
    await seedOldState(store);
    await stage(store, NEW_ROWS);
    await closeStore(store);
    expect(await stagedKeyCount(dir)).toBe(NEW_ROWS.length);
    await expectOldState(dir);
  });
});

/** Seeds, stages and installs with the crash hook; true if the install ran to the end. */
async function installCrashingAfter(dir: string, batches: number): Promise<boolean> {
  const seed = await openStore(dir, SMALL_BATCHES);
  await seedOldState(seed);
  await stage(seed, NEW_ROWS);
  await closeStore(seed);
  const store = await openStore(dir, { ...SMALL_BATCHES, testInstallCrashAfterBatches: batches });
  await store.load();
  await stage(store, NEW_ROWS);
  const outcome = await store.installStagedSnapshot(META).then(
    () => true,
    (error: unknown) => {
      if (!(error instanceof SimulatedCrashError)) throw error;
      expect(error.batchesWritten).toBe(batches);
      return false;
    },
  );
  await closeStore(store);
  return outcome;
}

/** Bounds the search for the install's length; the real count is far below. */
const INSTALL_BATCHES_MAX = 200;

describe("a crash during the install", () => {
  it("leaves the old state before the marker and the new state after it, at every batch", async () => {
    let completedAt = -1;
    for (let crashAfter = 0; crashAfter < INSTALL_BATCHES_MAX; crashAfter++) {
      const dir = await dirs.make(`crash-${crashAfter}`);
      const completed = await installCrashingAfter(dir, crashAfter);
      if (crashAfter === 0) {
        // Nothing written yet: the staged rows are unclaimed garbage.
        expect(await hasMarker(dir)).toBe(false);
        await expectOldState(dir);
      } else {
        expect(await hasMarker(dir)).toBe(!completed);
        await expectNewState(dir);
      }
      await dirs.cleanup();
      if (completed) {
        completedAt = crashAfter;
        break;
      }
    }
    // marker, clear (5 old rows + 10 log records), mark move, move 6 rows, finish:
    // with 3-op batches that is well over ten places to crash.
    expect(completedAt).toBeGreaterThan(10);
  });

  it("finishes even when load()'s recovery itself crashes, at every batch", async () => {
    // Crash mid-clear and mid-move, then crash the recovery at each of its batches.
    for (const firstCrash of [3, 12]) {
      for (let secondCrash = 0; secondCrash < INSTALL_BATCHES_MAX; secondCrash++) {
        const dir = await dirs.make(`recrash-${firstCrash}-${secondCrash}`);
        expect(await installCrashingAfter(dir, firstCrash)).toBe(false);
        const recovering = await openStore(dir, {
          ...SMALL_BATCHES,
          testInstallCrashAfterBatches: secondCrash,
        });
        const recovered = await recovering.load().then(
          (loaded) => loaded.recoveredInstall,
          (error: unknown) => {
            if (!(error instanceof SimulatedCrashError)) throw error;
            return null;
          },
        );
        await closeStore(recovering);
        await expectNewState(dir);
        await dirs.cleanup();
        if (recovered !== null) {
          expect(recovered).toEqual({ stagingId: 77, meta: META });
          break;
        }
      }
    }
  });
});
