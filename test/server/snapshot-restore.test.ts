// `cairn snapshot restore` offline: a verified file becomes a data dir named
// for the new cluster's members, written beside the target and renamed into
// place; a damaged file, an occupied data dir or flags naming another member
// are refused with a message saying what to do, leaving nothing behind.
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { memberId } from "../../src/server/ids.js";
import { restoreSnapshot } from "../../src/server/snapshot-restore.js";
import { DiskStore, type StateExportRecord } from "../../src/storage/index.js";
import { encodeSnapshot } from "../../src/storage/snapshot-file.js";
import { grant, put, run } from "../state/helpers.js";
import { TmpDirs } from "../storage/helpers.js";

const dirs = new TmpDirs();
afterEach(() => dirs.cleanup());

const CLUSTER = [
  { name: "r1", peerAddress: "127.0.0.1:4001" },
  { name: "r2", peerAddress: "127.0.0.1:4002" },
  { name: "r3", peerAddress: "127.0.0.1:4003" },
];

async function snapshotFile(dir: string): Promise<string> {
  const { store } = run([grant(5, 60, 1_000), put("a", "1"), put("b", "2", { lease: 5 })]);
  async function* records(): AsyncGenerator<StateExportRecord> {
    yield { kind: "applied", appliedIndex: 42 };
    for (const row of store.rows.values()) yield { kind: "row", ...row };
  }
  const chunks: Buffer[] = [];
  for await (const chunk of encodeSnapshot(records(), 1024)) chunks.push(chunk);
  const path = join(dir, "snap.db");
  await writeFile(path, Buffer.concat(chunks));
  return path;
}

function request(snapshotFile: string, dataDir: string, extra: object = {}) {
  return {
    snapshotFile,
    name: "r2",
    initialCluster: CLUSTER,
    initialClusterToken: "restored",
    dataDir,
    advertisePeerAddresses: null,
    nowMs: 5_000,
    ...extra,
  };
}

describe("snapshot restore", () => {
  it("writes a data dir for the named member of the new cluster", async () => {
    const dir = await dirs.make("restore");
    const file = await snapshotFile(dir);
    const dataDir = join(dir, "data", "r2");
    const report = await restoreSnapshot(request(file, dataDir));
    expect(report).toMatchObject({
      dataDir,
      memberId: memberId("r2", "restored"),
      fileAppliedIndex: 42,
      summary: { revision: 3, keys: 2, leases: 1 },
    });
    expect(await readdir(join(dir, "data"))).toEqual(["r2"]); // no temporary dir left
    const store = await DiskStore.open(dataDir);
    try {
      const loaded = await store.load();
      const ids = CLUSTER.map((m) => memberId(m.name, "restored")).sort((a, b) => a - b);
      expect(loaded.confState).toEqual({ voters: ids, learners: [] });
      expect(loaded.snapshotMeta).toEqual({ index: 1, term: 1, confState: loaded.confState });
      expect(loaded.appliedIndex).toBe(1);
    } finally {
      await store.close();
    }
  });

  it("restores into an existing empty directory", async () => {
    const dir = await dirs.make("restore-empty");
    const dataDir = join(dir, "r2");
    await mkdir(dataDir);
    await restoreSnapshot(request(await snapshotFile(dir), dataDir));
    expect((await readdir(dataDir)).length).toBeGreaterThan(0);
  });

  it("refuses an occupied data dir and leaves it untouched", async () => {
    const dir = await dirs.make("restore-occupied");
    const dataDir = join(dir, "r2");
    await mkdir(dataDir);
    await writeFile(join(dataDir, "precious"), "keep me");
    await expect(restoreSnapshot(request(await snapshotFile(dir), dataDir))).rejects.toThrow(
      /data dir .*r2 already exists and is not empty: .*choose another --data-dir/,
    );
    expect(await readdir(dataDir)).toEqual(["precious"]);
    expect((await readdir(dir)).sort()).toEqual(["r2", "snap.db"]);
  });

  it("refuses a corrupted or truncated file before writing anything", async () => {
    const dir = await dirs.make("restore-corrupt");
    const file = await snapshotFile(dir);
    const bytes = await readFile(file);
    const flipped = Buffer.from(bytes);
    flipped[40] = (flipped[40] as number) ^ 0x01;
    await writeFile(join(dir, "flipped.db"), flipped);
    await writeFile(join(dir, "short.db"), bytes.subarray(0, bytes.byteLength - 100));
    for (const name of ["flipped.db", "short.db"]) {
      await expect(restoreSnapshot(request(join(dir, name), join(dir, "r2")))).rejects.toThrow(
        /refusing to restore: snapshot .* is unusable: snapshot checksum mismatch: the file is truncated or corrupted; nothing was written/,
      );
    }
    expect((await readdir(dir)).sort()).toEqual(["flipped.db", "short.db", "snap.db"]);
  });

  it("refuses flags that do not name this member consistently", async () => {
    const dir = await dirs.make("restore-flags");
    const file = await snapshotFile(dir);
    const dataDir = join(dir, "r2");
    await expect(restoreSnapshot(request(file, dataDir, { name: "r9" }))).rejects.toThrow(
      /--initial-cluster \(r1,r2,r3\) does not list this member "r9"/,
    );
    await expect(
      restoreSnapshot(request(file, dataDir, { advertisePeerAddresses: ["127.0.0.1:9999"] })),
    ).rejects.toThrow(
      /--initial-advertise-peer-urls \(127.0.0.1:9999\) does not include 127.0.0.1:4002/,
    );
    await restoreSnapshot(request(file, dataDir, { advertisePeerAddresses: ["127.0.0.1:4002"] }));
  });
});
