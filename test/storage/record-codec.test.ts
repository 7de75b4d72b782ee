// The framing and record codecs on their own: round trips, and every way a
// stored value can be malformed is a RecordDecodeError, never a wrong value.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Entry } from "../../src/raft/types.js";
import { logKey, metaKey } from "../../src/storage/keys.js";
import { decodeLogEntry, encodeLogEntry } from "../../src/storage/log-record.js";
import {
  decodeConfState,
  decodeCounter,
  decodeHardState,
  decodeSnapshotMeta,
  encodeConfState,
  encodeCounter,
  encodeHardState,
  encodeSnapshotMeta,
} from "../../src/storage/meta-record.js";
import {
  FRAME_HEADER_BYTES,
  FrameWriter,
  frameBytes,
  RecordDecodeError,
  unframeBytes,
} from "../../src/storage/record-codec.js";
import { AssertionError } from "../../src/util/assert.js";

const safeIndex = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
const arbitraryEntry: fc.Arbitrary<Entry> = fc.record({
  index: safeIndex,
  term: safeIndex,
  kind: fc.constantFrom("normal" as const, "conf-change" as const),
  data: fc.uint8Array({ maxLength: 64 }),
});

describe("log entry records", () => {
  it("round-trip any entry, and the payload is 17 bytes plus the data", () => {
    fc.assert(
      fc.property(arbitraryEntry, (entry) => {
        const key = logKey(entry.index);
        const value = encodeLogEntry(key, entry);
        expect(value.byteLength).toBe(FRAME_HEADER_BYTES + 17 + entry.data.byteLength);
        const decoded = decodeLogEntry(key, value);
        expect({ ...decoded, data: Array.from(decoded.data) }).toEqual({
          ...entry,
          data: Array.from(entry.data),
        });
      }),
    );
  });

  it("refuses to encode an entry under a key for another index", () => {
    const entry: Entry = { index: 5, term: 1, kind: "normal", data: new Uint8Array(1) };
    expect(() => encodeLogEntry(logKey(6), entry)).toThrow(AssertionError);
  });

  it("an unknown kind code with a valid CRC is still a decode error", () => {
    const key = logKey(1);
    const value = new FrameWriter(17).u8(9).u64(1).u64(1).seal(key);
    expect(() => decodeLogEntry(key, value)).toThrow(/unknown entry kind code 9/);
  });
});

describe("framing", () => {
  it("detects a short value, a wrong length field and a wrong key", () => {
    const key = metaKey("applied-index");
    const value = encodeCounter(key, 42);
    expect(decodeCounter(key, value)).toBe(42);
    expect(() => decodeCounter(key, value.subarray(0, 5))).toThrow(/shorter than the frame header/);
    const longer = new Uint8Array(value.byteLength + 1);
    longer.set(value);
    expect(() => decodeCounter(key, longer)).toThrow(/frame says 8 payload bytes, value holds 9/);
    expect(() => decodeCounter(metaKey("log-start"), value)).toThrow(/CRC mismatch/);
  });

  it("reports trailing and missing payload bytes even when the CRC is valid", () => {
    const key = metaKey("hard-state");
    const tooLong = new FrameWriter(32).u64(1).u64(2).u64(3).u64(4).seal(key);
    expect(() => decodeHardState(key, tooLong)).toThrow(/8 unexpected trailing payload bytes/);
    const tooShort = new FrameWriter(16).u64(1).u64(2).seal(key);
    expect(() => decodeHardState(key, tooShort)).toThrow(RecordDecodeError);
  });

  it("rejects a u64 above 2^53-1 instead of losing precision", () => {
    const key = metaKey("applied-index");
    const value = new FrameWriter(8).u32(0x0020_0000).u32(0).seal(key);
    expect(() => decodeCounter(key, value)).toThrow(/exceeds 2\^53-1/);
  });

  it("frames opaque bytes, including empty ones", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 16 }), fc.uint8Array(), (key, data) => {
        expect(Array.from(unframeBytes(key, frameBytes(key, data)))).toEqual(Array.from(data));
      }),
    );
  });

  it("refuses to seal a frame whose payload was not fully written", () => {
    expect(() => new FrameWriter(8).u32(1).seal(new Uint8Array(1))).toThrow(AssertionError);
  });
});

describe("meta records", () => {
  it("round-trip hard state, conf state and snapshot meta", () => {
    const hardKey = metaKey("hard-state");
    const hardState = { term: 2 ** 50, vote: 3, commit: 12 };
    expect(decodeHardState(hardKey, encodeHardState(hardKey, hardState))).toEqual(hardState);
    const confKey = metaKey("conf-state");
    const confState = { voters: [1, 2, 3], learners: [] };
    expect(decodeConfState(confKey, encodeConfState(confKey, confState))).toEqual(confState);
    const snapKey = metaKey("snapshot-meta");
    const meta = { index: 100, term: 4, confState: { voters: [1], learners: [7, 8] } };
    expect(decodeSnapshotMeta(snapKey, encodeSnapshotMeta(snapKey, meta))).toEqual(meta);
  });

  it("a node count that does not fit the record is a decode error, not a huge allocation", () => {
    const key = metaKey("conf-state");
    const value = new FrameWriter(12).u32(1_000).u64(1).seal(key);
    expect(() => decodeConfState(key, value)).toThrow(/node count 1000 does not fit/);
  });
});
