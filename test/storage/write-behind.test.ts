// The no-fsync planted bug's page-cache emulation: unsynced writes wait in
// the process, so a SIGKILL loses them (as a power cut loses the page cache),
// while a synced write, a read or a clean close carries them to LevelDB first.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import type { BatchOp } from "../../src/storage/batch-op.js";
import { putOp } from "../../src/storage/batch-op.js";
import { DiskStore } from "../../src/storage/index.js";
import { WRITE_BEHIND_OPS_MAX, WriteBehind } from "../../src/storage/write-behind.js";
import { bytes, entries, TmpDirs } from "./helpers.js";

const CHILD = new URL("./write-behind-child.ts", import.meta.url).pathname;
const dirs = new TmpDirs();
afterEach(() => dirs.cleanup());

function op(n: number): BatchOp {
  return putOp(bytes(`k${n}`), bytes(`v${n}`));
}

describe("WriteBehind", () => {
  it("holds batches until flushed, then writes them once, in order", async () => {
    const written: BatchOp[][] = [];
    const queue = new WriteBehind(async (ops) => {
      written.push(ops);
    }, 600_000);
    await queue.add([op(1), op(2)]);
    await queue.add([op(3)]);
    expect(written).toEqual([]);
    expect(queue.pendingOps).toBe(3);
    await queue.flush();
    expect(written).toEqual([[op(1), op(2), op(3)]]);
    await queue.flush();
    expect(written).toHaveLength(1);
    await queue.close();
  });

  it("writes back by itself on its interval", async () => {
    const written: BatchOp[][] = [];
    const queue = new WriteBehind(async (ops) => {
      written.push(ops);
    }, 20);
    await queue.add([op(1)]);
    await expect.poll(() => written.length, { timeout: 5_000 }).toBe(1);
    await queue.close();
  });

  it("stops taking writes after a failed writeback, with that failure", async () => {
    const queue = new WriteBehind(async () => {
      throw new Error("disk gone");
    }, 600_000);
    await queue.add([op(1)]);
    await expect(queue.flush()).rejects.toThrow("disk gone");
    await expect(queue.add([op(2)])).rejects.toThrow("disk gone");
  });

  it("is bounded: a write that fills the queue waits for a writeback", async () => {
    let written = 0;
    const queue = new WriteBehind(async (ops) => {
      written += ops.length;
    }, 600_000);
    const batch = Array.from({ length: 1_000 }, (_, i) => op(i));
    for (let i = 0; i < WRITE_BEHIND_OPS_MAX / 1_000; i++) await queue.add(batch);
    expect(written).toBe(WRITE_BEHIND_OPS_MAX);
    expect(queue.pendingOps).toBe(0);
    await queue.close();
  });
});

async function killAfterAck(dataDir: string, mode: string): Promise<void> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, dataDir, mode], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    out += chunk;
  });
  await expect.poll(() => out, { timeout: 20_000 }).toContain("acked");
  child.kill("SIGKILL");
  await once(child, "exit");
}

describe("DiskStore with the no-fsync emulation", () => {
  it("loses acknowledged unsynced entries on SIGKILL", async () => {
    const dir = await dirs.make("wb-lost");
    await killAfterAck(dir, "unsynced");
    const store = await DiskStore.open(dir);
    const loaded = await store.load();
    expect(loaded.entries).toEqual([]);
    await store.close();
  });

  it("keeps them once a later synced write has gone out", async () => {
    const dir = await dirs.make("wb-synced");
    await killAfterAck(dir, "then-synced");
    const store = await DiskStore.open(dir);
    const loaded = await store.load();
    expect(loaded.entries.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(loaded.hardState.commit).toBe(3);
    await store.close();
  });

  it("lets reads see queued writes, and a clean close keeps them", async () => {
    const dir = await dirs.make("wb-read");
    const store = await DiskStore.open(dir, { unsafeWriteBehindMs: 600_000 });
    await store.load();
    await store.persistRaft(
      entries(1, 2, 1),
      { term: 1, vote: 1, commit: 2 },
      {
        sync: false,
        unsafeUnsyncedEntries: true,
      },
    );
    await store.applyState([{ table: "rows", key: bytes("a"), value: bytes("1") }], 1);
    const rows = [];
    for await (const [key] of store.iterateTable("rows")) rows.push(Buffer.from(key).toString());
    expect(rows).toEqual(["a"]);
    await store.close();
    const reopened = await DiskStore.open(dir);
    const loaded = await reopened.load();
    expect(loaded.entries.map((e) => e.index)).toEqual([1, 2]);
    expect(loaded.appliedIndex).toBe(1);
    await reopened.close();
  });
});
