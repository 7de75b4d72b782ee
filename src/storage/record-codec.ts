// CRC framing shared by every value cairn stores, plus the bounds-checked
// writer/reader the record encodings are built from. A frame is
//
//   crc32 u32 BE | payloadLength u32 BE | payload
//
// and the CRC covers the record's key, the length field and the payload, so a
// flipped bit, a torn value or a value copied under another key all fail.

import { crc32 } from "node:zlib";
import { assert } from "../util/assert.js";

export const FRAME_HEADER_BYTES = 8;
const FRAME_PAYLOAD_BYTES_MAX = 0xffff_ffff;
const U32_RANGE = 0x1_0000_0000;
const SAFE_HIGH_WORD_MAX = 0x1f_ffff;

/**
 * A stored value failed a check. Internal: the store converts it into a
 * CorruptRecordError that names the record and the data dir.
 */
export class RecordDecodeError extends Error {
  override readonly name = "RecordDecodeError";
}

function frameCrc(key: Uint8Array, frame: Uint8Array): number {
  // Chained CRC = crc32(key || length || payload) without concatenating.
  return crc32(frame.subarray(4), crc32(key));
}

/** Writes one frame's payload in place; `seal` fills in the header once every byte is written. */
export class FrameWriter {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private offset = FRAME_HEADER_BYTES;

  constructor(payloadBytes: number) {
    assert(
      Number.isSafeInteger(payloadBytes) && payloadBytes >= 0,
      `bad payload size ${payloadBytes}`,
    );
    assert(payloadBytes <= FRAME_PAYLOAD_BYTES_MAX, `payload too large: ${payloadBytes} bytes`);
    this.bytes = new Uint8Array(FRAME_HEADER_BYTES + payloadBytes);
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }

  u8(value: number): this {
    assert(Number.isInteger(value) && value >= 0 && value <= 0xff, `not a u8: ${value}`);
    this.view.setUint8(this.offset, value);
    this.offset += 1;
    return this;
  }

  u32(value: number): this {
    assert(Number.isInteger(value) && value >= 0 && value < U32_RANGE, `not a u32: ${value}`);
    this.view.setUint32(this.offset, value);
    this.offset += 4;
    return this;
  }

  /** Any non-negative safe integer (terms, indexes, node ids). */
  u64(value: number): this {
    assert(Number.isSafeInteger(value) && value >= 0, `not a non-negative safe integer: ${value}`);
    this.view.setUint32(this.offset, Math.floor(value / U32_RANGE));
    this.view.setUint32(this.offset + 4, value % U32_RANGE);
    this.offset += 8;
    return this;
  }

  raw(bytes: Uint8Array): this {
    this.bytes.set(bytes, this.offset);
    this.offset += bytes.byteLength;
    return this;
  }

  seal(key: Uint8Array): Uint8Array {
    assert(this.offset === this.bytes.byteLength, "frame payload size does not match its content");
    this.view.setUint32(4, this.bytes.byteLength - FRAME_HEADER_BYTES);
    this.view.setUint32(0, frameCrc(key, this.bytes));
    return this.bytes;
  }
}

/** Frames opaque bytes (state table values). */
export function frameBytes(key: Uint8Array, payload: Uint8Array): Uint8Array {
  return new FrameWriter(payload.byteLength).raw(payload).seal(key);
}

/** Checks a frame's length and CRC against `key` and returns a reader over its payload. */
export function openFrame(key: Uint8Array, value: Uint8Array): PayloadReader {
  if (value.byteLength < FRAME_HEADER_BYTES) {
    throw new RecordDecodeError(
      `value is ${value.byteLength} bytes, shorter than the frame header`,
    );
  }
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const payloadBytes = view.getUint32(4);
  if (payloadBytes !== value.byteLength - FRAME_HEADER_BYTES) {
    throw new RecordDecodeError(
      `frame says ${payloadBytes} payload bytes, value holds ${value.byteLength - FRAME_HEADER_BYTES}`,
    );
  }
  const storedCrc = view.getUint32(0);
  const computedCrc = frameCrc(key, value);
  if (storedCrc !== computedCrc) {
    throw new RecordDecodeError(
      `CRC mismatch (stored 0x${hex32(storedCrc)}, computed 0x${hex32(computedCrc)})`,
    );
  }
  return new PayloadReader(value.subarray(FRAME_HEADER_BYTES));
}

/** Unframes opaque bytes (state table values); the result aliases `value`. */
export function unframeBytes(key: Uint8Array, value: Uint8Array): Uint8Array {
  return openFrame(key, value).rest();
}

/** Reads a CRC-checked payload; a short or over-long payload is a RecordDecodeError. */
export class PayloadReader {
  private readonly view: DataView;
  private offset = 0;

  constructor(private readonly payload: Uint8Array) {
    this.view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  }

  u8(): number {
    this.need(1);
    const value = this.view.getUint8(this.offset);
    this.offset += 1;
    return value;
  }

  u32(): number {
    this.need(4);
    const value = this.view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }

  u64(): number {
    this.need(8);
    const high = this.view.getUint32(this.offset);
    if (high > SAFE_HIGH_WORD_MAX) {
      throw new RecordDecodeError(`integer at payload offset ${this.offset} exceeds 2^53-1`);
    }
    const value = high * U32_RANGE + this.view.getUint32(this.offset + 4);
    this.offset += 8;
    return value;
  }

  /** The remaining payload bytes (aliases the stored value, no copy). */
  rest(): Uint8Array {
    const bytes = this.payload.subarray(this.offset);
    this.offset = this.payload.byteLength;
    return bytes;
  }

  remainingBytes(): number {
    return this.payload.byteLength - this.offset;
  }

  /** Call after the last field: trailing bytes mean the record is not what we think it is. */
  end(): void {
    if (this.offset !== this.payload.byteLength) {
      throw new RecordDecodeError(
        `${this.payload.byteLength - this.offset} unexpected trailing payload bytes`,
      );
    }
  }

  private need(bytes: number): void {
    if (this.offset + bytes > this.payload.byteLength) {
      throw new RecordDecodeError(
        `payload ends at ${this.payload.byteLength} bytes, needed ${this.offset + bytes}`,
      );
    }
  }
}

function hex32(value: number): string {
  return value.toString(16).padStart(8, "0");
}
