// Revisions of the MVCC keyspace. Every change is named by (main, sub): main is
// the store revision of the write txn, sub its position inside that txn. The
// persisted row key is 8-byte big-endian main + 4-byte big-endian sub, so
// LevelDB's byte order is revision order.
import { assert } from "../../util/assert.js";

export interface Revision {
  readonly main: number;
  readonly sub: number;
}

export const REVISION_KEY_BYTES = 12;

const TWO_TO_32 = 2 ** 32;

export function compareRevisions(a: Revision, b: Revision): number {
  if (a.main !== b.main) {
    return a.main < b.main ? -1 : 1;
  }
  if (a.sub !== b.sub) {
    return a.sub < b.sub ? -1 : 1;
  }
  return 0;
}

export function encodeRevisionKey(revision: Revision): Uint8Array {
  assert(Number.isSafeInteger(revision.main), `main revision must be a safe integer`);
  assert(revision.main >= 1, `main revision must be >= 1, got ${revision.main}`);
  assert(Number.isInteger(revision.sub), `sub revision must be an integer`);
  assert(revision.sub >= 0 && revision.sub < TWO_TO_32, `sub revision out of range`);
  const bytes = Buffer.alloc(REVISION_KEY_BYTES);
  // Split main into two 32-bit halves: safe integers fit in 53 bits.
  bytes.writeUInt32BE(Math.floor(revision.main / TWO_TO_32), 0);
  bytes.writeUInt32BE(revision.main % TWO_TO_32, 4);
  bytes.writeUInt32BE(revision.sub, 8);
  return bytes;
}

export function decodeRevisionKey(bytes: Uint8Array): Revision {
  assert(
    bytes.byteLength === REVISION_KEY_BYTES,
    `revision key must be ${REVISION_KEY_BYTES} bytes, got ${bytes.byteLength}`,
  );
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const main = view.readUInt32BE(0) * TWO_TO_32 + view.readUInt32BE(4);
  const sub = view.readUInt32BE(8);
  assert(Number.isSafeInteger(main) && main >= 1, `decoded main revision ${main} is invalid`);
  return { main, sub };
}
