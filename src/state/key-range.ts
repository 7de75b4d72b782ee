// etcd's key-range convention, shared by Range, DeleteRange and (later) Watch:
// an empty range_end means one key, "\0" means every key >= key, anything else
// the half-open interval [key, range_end). Keys are compared as latin1 strings,
// whose code units are the raw bytes, so string order equals byte order.

export interface KeyRange {
  readonly start: string;
  /** null: the single key `start`. "" : unbounded above. */
  readonly end: string | null;
}

export function keyString(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

export function keyBytes(key: string): Uint8Array {
  return Buffer.from(key, "latin1");
}

export function toKeyRange(key: Uint8Array, rangeEnd: Uint8Array): KeyRange {
  const start = keyString(key);
  if (rangeEnd.byteLength === 0) {
    return { start, end: null };
  }
  if (rangeEnd.byteLength === 1 && rangeEnd[0] === 0) {
    return { start, end: "" };
  }
  return { start, end: keyString(rangeEnd) };
}

export function inRange(range: KeyRange, key: string): boolean {
  if (range.end === null) {
    return key === range.start;
  }
  return key >= range.start && (range.end === "" || key < range.end);
}
