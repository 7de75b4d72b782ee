import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { StateExportRecord } from "../../src/storage/disk-store.js";
import {
  decodeSnapshot,
  encodeSnapshot,
  SnapshotFileError,
} from "../../src/storage/snapshot-file.js";

async function encodeAll(records: StateExportRecord[], chunkBytes = 1024): Promise<Buffer> {
  async function* source() {
    yield* records;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of encodeSnapshot(source(), chunkBytes)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const rowArb = fc.record({
  table: fc.constantFrom("kv", "kv-meta", "lease", "alarm"),
  key: fc.uint8Array({ minLength: 1, maxLength: 40 }),
  value: fc.uint8Array({ maxLength: 3000 }),
});

describe("snapshot file", () => {
  it("round-trips the applied index and every row, across chunk sizes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: 2 ** 40 }),
        fc.array(rowArb, { maxLength: 30 }),
        async (appliedIndex, rows) => {
          const records: StateExportRecord[] = [
            { kind: "applied", appliedIndex },
            ...rows.map((r) => ({ kind: "row" as const, ...r })),
          ];
          const file = await encodeAll(records);
          // etcdctl snapshot save refuses any other size (see snapshot-file.ts).
          expect(file.byteLength % 512).toBe(32);
          const decoded = decodeSnapshot(file);
          expect(decoded.appliedIndex).toBe(appliedIndex);
          expect(decoded.rows.map((r) => [r.table, [...r.key], [...r.value]])).toEqual(
            rows.map((r) => [r.table, [...r.key], [...r.value]]),
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  it("keeps the end marker when it completes a chunk", async () => {
    // 18 header bytes + a 1005-byte row leave one byte to fill a 1024-byte
    // chunk, so the end marker completes it; that chunk used to be dropped.
    const value = Buffer.alloc(1005 - 13, 7);
    const file = await encodeAll(
      [
        { kind: "applied", appliedIndex: 3 },
        { kind: "row", table: "kv", key: Buffer.from("k"), value },
      ],
      1024,
    );
    expect(decodeSnapshot(file).rows.map((r) => r.value.byteLength)).toEqual([value.byteLength]);
  });

  it("decodes files written without the etcdctl padding", async () => {
    const padded = await encodeAll([
      { kind: "applied", appliedIndex: 9 },
      { kind: "row", table: "kv", key: Buffer.from("k"), value: Buffer.from("v") },
    ]);
    // 18 header bytes, a 14-byte row, the end marker: what a file held before the padding.
    const body = padded.subarray(0, 18 + 14 + 1);
    const old = Buffer.concat([body, createHash("sha256").update(body).digest()]);
    expect(decodeSnapshot(old).rows).toHaveLength(1);
  });

  it("refuses a truncated, corrupted or foreign file with a clear error", async () => {
    const file = await encodeAll([
      { kind: "applied", appliedIndex: 7 },
      { kind: "row", table: "kv", key: Buffer.from("k"), value: Buffer.from("v") },
    ]);
    expect(() => decodeSnapshot(file.subarray(0, file.byteLength - 1))).toThrow(
      /truncated or corrupted/,
    );
    const flipped = Buffer.from(file);
    flipped[20] = (flipped[20] as number) ^ 0xff;
    expect(() => decodeSnapshot(flipped)).toThrow(SnapshotFileError);
    expect(() =>
      decodeSnapshot(Buffer.from("SQLite format 3\0 and more bytes to pass the length check.....")),
    ).toThrow(/not a cairn snapshot/);
  });

  it("refuses a file with any one byte flipped, header, rows and digest alike", async () => {
    const file = await encodeAll([
      { kind: "applied", appliedIndex: 1234 },
      { kind: "row", table: "kv", key: Buffer.from("key-1"), value: Buffer.from("value one") },
      { kind: "row", table: "lease", key: Buffer.from([0, 0, 0, 7]), value: Buffer.from([1, 2]) },
      { kind: "row", table: "user", key: Buffer.from("amy"), value: Buffer.alloc(40, 9) },
    ]);
    for (let offset = 0; offset < file.byteLength; offset++) {
      const damaged = Buffer.from(file);
      damaged[offset] = (damaged[offset] as number) ^ 0x01;
      let caught: unknown = null;
      try {
        decodeSnapshot(damaged);
      } catch (error) {
        caught = error;
      }
      expect(caught, `byte ${offset} flipped`).toBeInstanceOf(SnapshotFileError);
      expect((caught as Error).message).toMatch(
        /^(not a cairn snapshot file \(bad header\)|snapshot checksum mismatch: the file is truncated or corrupted)/,
      );
    }
    expect(decodeSnapshot(file).appliedIndex).toBe(1234);
  });
});
