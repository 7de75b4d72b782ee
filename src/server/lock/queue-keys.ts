// The key layout and reads of etcd's lock/election queue (clientv3
// concurrency recipe): a waiter's key is `<name>/<lease id in hex>`, waiters
// are ordered by create revision, the lowest one holds the lock (or leads the
// election), and a waiter waits only for its immediate predecessor — the
// newest key created before its own — so one delete wakes one waiter.
import type { KeyValue, RangeQuery } from "../../state/index.js";
import { assert } from "../../util/assert.js";

const EMPTY = new Uint8Array(0);
const SLASH = 0x2f;

/** `<name>/`: every waiter of one lock or election lives under it. */
export function queuePrefix(name: Uint8Array): Uint8Array {
  const prefix = new Uint8Array(name.byteLength + 1);
  prefix.set(name, 0);
  prefix[name.byteLength] = SLASH;
  return prefix;
}

/** `<name>/<lease hex>`, lowercase without padding, as Go's %x of the lease id. */
export function queueKey(name: Uint8Array, leaseId: number): Uint8Array {
  assert(
    Number.isSafeInteger(leaseId) && leaseId >= 1,
    `queue key needs a lease id, got ${leaseId}`,
  );
  return Buffer.concat([queuePrefix(name), Buffer.from(leaseId.toString(16), "latin1")]);
}

/**
 * etcd's GetPrefixRangeEnd: the prefix with its last byte below 0xff
 * incremented and the rest dropped; "\0" (every key from the prefix on) when
 * every byte is 0xff.
 */
export function prefixRangeEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.byteLength - 1; i >= 0; i--) {
    const byte = prefix[i] as number;
    if (byte < 0xff) {
      // A copy, never a view: Buffer#slice shares memory, and the prefix must not change.
      const end = Uint8Array.from(prefix.subarray(0, i + 1));
      end[i] = byte + 1;
      return end;
    }
  }
  return Uint8Array.of(0);
}

function prefixQuery(
  prefix: Uint8Array,
  order: "ascend" | "descend",
  maxCreate: number,
): RangeQuery {
  return {
    key: prefix,
    rangeEnd: prefixRangeEnd(prefix),
    limit: 1,
    revision: 0,
    sortOrder: order,
    sortTarget: "create",
    keysOnly: false,
    countOnly: false,
    minModRevision: 0,
    maxModRevision: 0,
    minCreateRevision: 0,
    maxCreateRevision: maxCreate,
  };
}

/** The holder: the key under the prefix with the lowest create revision. */
export function ownerQuery(prefix: Uint8Array): RangeQuery {
  return prefixQuery(prefix, "ascend", 0);
}

/** The waiter just ahead of a claim created at `createRevision`. */
export function predecessorQuery(prefix: Uint8Array, createRevision: number): RangeQuery {
  // maxCreateRevision 0 would mean "unbounded"; a claim is never created at revision 1.
  assert(createRevision >= 2, `a claim's create revision is at least 2, got ${createRevision}`);
  return prefixQuery(prefix, "descend", createRevision - 1);
}

/** The single-key read of a claim's own key. */
export function ownKeyQuery(key: Uint8Array): RangeQuery {
  return {
    key,
    rangeEnd: EMPTY,
    limit: 0,
    revision: 0,
    sortOrder: "none",
    sortTarget: "key",
    keysOnly: false,
    countOnly: false,
    minModRevision: 0,
    maxModRevision: 0,
    minCreateRevision: 0,
    maxCreateRevision: 0,
  };
}

export type QueueTurn =
  | { readonly kind: "owner" }
  | { readonly kind: "wait"; readonly predecessor: Uint8Array }
  /** The claim's key is gone or was re-created: its lease expired or it was unlocked. */
  | { readonly kind: "lost" };

/**
 * Pure: where a claim stands, given its own key's current version (if any)
 * and its predecessor (if any).
 */
export function queueTurn(
  claimRevision: number,
  own: KeyValue | undefined,
  predecessor: KeyValue | undefined,
): QueueTurn {
  if (own === undefined || own.createRevision !== claimRevision) return { kind: "lost" };
  if (predecessor === undefined) return { kind: "owner" };
  assert(
    predecessor.createRevision < claimRevision,
    `predecessor created at ${predecessor.createRevision}, not before ${claimRevision}`,
  );
  return { kind: "wait", predecessor: predecessor.key };
}
