// The data dir `cairn snapshot restore` writes: DiskStore loads it as a member
// that has applied everything through the snapshot point (log empty, starting
// right after it), the state rows read back, the node can then persist and
// apply from point + 1, and an existing LevelDB is never written over.
import { afterEach, describe, expect, it } from "vitest";
import { DiskStore } from "../../src/storage/index.js";
import { writeDataDirAtSnapshot } from "../../src/storage/restore-writer.js";
import { bytes, entries, TmpDirs, text } from "./helpers.js";

const dirs = new TmpDirs();
afterEach(() => dirs.cleanup());

const POINT = {
  index: 1,
  term: 1,
  confState: { voters: [3, 7, 9], learners: [] },
  identity: { memberId: 7, clusterId: 42 },
};
const ROWS = [
  { table: "kv", key: bytes("k1"), value: bytes("v1") },
  { table: "kv", key: bytes("k2"), value: bytes("v2") },
  { table: "lease", key: bytes("l1"), value: bytes("ttl") },
];

describe("restore writer", () => {
  it("writes a data dir that loads at the snapshot point", async () => {
    const dir = await dirs.make("restore");
    await writeDataDirAtSnapshot(dir, POINT, ROWS);
    const store = await DiskStore.open(dir);
    try {
      expect(await store.load()).toEqual({
        hardState: { term: 1, vote: 0, commit: 1 },
        confState: POINT.confState,
        appliedIndex: 1,
        firstIndex: 2,
        entries: [],
        snapshotMeta: { index: 1, term: 1, confState: POINT.confState },
        identity: POINT.identity,
      });
      const kv: Array<[string | undefined, string | undefined]> = [];
      for await (const [key, value] of store.iterateTable("kv")) kv.push([text(key), text(value)]);
      expect(kv).toEqual([
        ["k1", "v1"],
        ["k2", "v2"],
      ]);
      expect(text(await store.getState("lease", bytes("l1")))).toBe("ttl");
      // The node's first Ready after boot appends at point + 1 and applies it.
      await store.persistRaft(entries(2, 3, 2), { term: 2, vote: 7, commit: 3 });
      await store.applyState([{ table: "kv", key: bytes("k3"), value: bytes("v3") }], 3);
    } finally {
      await store.close();
    }
  });

  it("writes many rows across batches", async () => {
    const dir = await dirs.make("restore-many");
    const rows = Array.from({ length: 2500 }, (_, i) => ({
      table: "kv",
      key: bytes(`key-${String(i).padStart(5, "0")}`),
      value: bytes(`value-${i}`),
    }));
    await writeDataDirAtSnapshot(dir, POINT, rows);
    const store = await DiskStore.open(dir);
    try {
      await store.load();
      let count = 0;
      for await (const _ of store.iterateTable("kv")) count++;
      expect(count).toBe(2500);
    } finally {
      await store.close();
    }
  });

  it("refuses a directory that already holds a LevelDB", async () => {
    const dir = await dirs.make("restore-existing");
    const existing = await DiskStore.open(dir);
    await existing.close();
    await expect(writeDataDirAtSnapshot(dir, POINT, ROWS)).rejects.toThrow(/exists/);
  });
});
