// The InstallSnapshot wire format without sockets: chunks and rows round-trip,
// and every malformed input is a typed error naming the chunk.

import { describe, expect, it } from "vitest";
import { cairn } from "../../src/gen/raft.js";
import { ClusterMismatchError, WireFormatError } from "../../src/transport/errors.js";
import {
  decodeChunk,
  decodeSnapshotAck,
  encodeChunk,
  encodeSnapshotAck,
  RowPacker,
  type SnapshotHeader,
  unpackRows,
} from "../../src/transport/snapshot-codec.js";
import { validateSnapshotHeader } from "../../src/transport/snapshot-receiver.js";
import { makeRows, metaAt, plainRows } from "./snapshot-helpers.js";

const HEADER: SnapshotHeader = {
  clusterId: 7,
  from: 1,
  to: 2,
  term: 3,
  transferId: 2 ** 40 + 5,
  meta: { index: 2 ** 50, term: 2, confState: { voters: [1, 2, 3], learners: [4] } },
};

function packed(count: number): { data: Buffer; rowCount: number } {
  const packer = new RowPacker(1024 * 1024);
  for (const row of makeRows(count, 20)) packer.add(row);
  return packer.take();
}

describe("snapshot chunks", () => {
  it("round-trip header, rows and trailer, including 2^53-range integers", () => {
    expect(decodeChunk(encodeChunk({ kind: "header", seq: 0, header: HEADER }), 0)).toEqual({
      kind: "header",
      seq: 0,
      header: HEADER,
    });
    const { data, rowCount } = packed(5);
    const rows = decodeChunk(encodeChunk({ kind: "rows", seq: 1, data, rowCount, crc32: 9 }), 1);
    expect(rows).toMatchObject({ kind: "rows", seq: 1, rowCount: 5, crc32: 9 });
    const sha256 = new Uint8Array(32).fill(7);
    const trailer = { kind: "trailer", seq: 2, rowCount: 5, rowsChunkCount: 1, sha256 } as const;
    const decoded = decodeChunk(encodeChunk(trailer), 2);
    expect({ ...decoded, sha256: Buffer.from((decoded as typeof trailer).sha256) }).toEqual({
      ...trailer,
      sha256: Buffer.from(sha256),
    });
    const ack = { seq: 12, done: true, rowsStaged: 20_000 };
    expect(decodeSnapshotAck(encodeSnapshotAck(ack))).toEqual(ack);
  });

  it("names the expected chunk for garbage, a gap and an empty body", () => {
    expect(() => decodeChunk(Uint8Array.of(0xff, 0xff, 0xff), 4)).toThrow(
      /^snapshot chunk 4: undecodable protobuf/,
    );
    const header = encodeChunk({ kind: "header", seq: 0, header: HEADER });
    expect(() => decodeChunk(header, 1)).toThrow("snapshot chunk 1: out of sequence: got chunk 0");
    expect(() => decodeChunk(new Uint8Array(0), 0)).toThrow(
      "snapshot chunk 0: carries no header, rows or trailer",
    );
  });

  it("rejects a trailer whose digest is not 32 bytes", () => {
    const bytes = cairn.raft.v1.SnapshotChunk.encode({
      seq: 3,
      trailer: { rowCount: 0, rowsChunkCount: 0, sha256: new Uint8Array(31) },
    }).finish();
    expect(() => decodeChunk(bytes, 3)).toThrow(
      "snapshot chunk 3: trailer sha256 has 31 bytes, not 32",
    );
  });
});

describe("packed rows", () => {
  it("unpack to exactly what was packed", () => {
    const rows = makeRows(50, 30);
    const packer = new RowPacker(1024 * 1024);
    for (const row of rows) packer.add(row);
    expect(packer.full).toBe(false);
    const { data, rowCount } = packer.take();
    expect(packer.empty).toBe(true);
    expect(plainRows(unpackRows(data, rowCount, 1))).toEqual(plainRows(rows));
  });

  it("reports fullness at the target and keeps one big row whole", () => {
    const packer = new RowPacker(1024);
    packer.add({ table: "kv", key: Buffer.from("k"), value: Buffer.alloc(5_000) });
    expect(packer.full).toBe(true);
    const { data, rowCount } = packer.take();
    expect(unpackRows(data, rowCount, 1)[0]!.value.byteLength).toBe(5_000);
  });

  it("refuses truncated rows, bad table names and a wrong count, naming chunk and row", () => {
    const { data, rowCount } = packed(3);
    expect(() => unpackRows(data.subarray(0, data.byteLength - 1), rowCount, 5)).toThrow(
      /^snapshot chunk 5: row 2 at byte \d+: value runs past the end of the chunk/,
    );
    expect(() => unpackRows(data, rowCount + 1, 5)).toThrow(
      "snapshot chunk 5: holds 3 rows, its header says 4",
    );
    const badName = Buffer.from(data);
    badName[1] = "K".charCodeAt(0); // table names are lowercase
    expect(() => unpackRows(badName, rowCount, 6)).toThrow(
      /^snapshot chunk 6: row 0 at byte 0: bad table name/,
    );
  });
});

describe("validateSnapshotHeader", () => {
  const self = { selfId: 2, clusterId: 7 };

  it("accepts a header for this node from a peer", () => {
    expect(() => validateSnapshotHeader(HEADER, self)).not.toThrow();
  });

  it("refuses another cluster, a wrong recipient, a self-sender and a bad meta", () => {
    expect(() => validateSnapshotHeader({ ...HEADER, clusterId: 8 }, self)).toThrow(
      ClusterMismatchError,
    );
    expect(() => validateSnapshotHeader({ ...HEADER, to: 3 }, self)).toThrow(
      "snapshot is for node 3, this is 2",
    );
    expect(() => validateSnapshotHeader({ ...HEADER, from: 2 }, self)).toThrow(WireFormatError);
    expect(() => validateSnapshotHeader({ ...HEADER, meta: metaAt(0) }, self)).toThrow(
      /index >= 1/,
    );
    expect(() =>
      validateSnapshotHeader({ ...HEADER, meta: { ...HEADER.meta, term: 4 } }, self),
    ).toThrow(/term <= 3/);
  });
});
