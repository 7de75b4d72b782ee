// Decoding of etcd WatchRequests into typed commands: the create request's
// key-range conventions, filters and start revision, with etcd's rejections
// (empty range, negative start) turned into cancel reasons, never exceptions.
import type { etcdserverpb } from "../../gen/etcd.js";
import { type KeyRange, toKeyRange } from "../../state/index.js";
import { ERRORS } from "../errors.js";

/** What one watcher asked for, normalised the way etcd's watch server does. */
export interface WatchSpec {
  /** Never empty: etcd watches "\0" (the smallest key) when the key is empty. */
  readonly key: Uint8Array;
  /** Empty = the single key; [0] = every key >= key; otherwise [key, rangeEnd). */
  readonly rangeEnd: Uint8Array;
  readonly range: KeyRange;
  /** 0 = the revision after the current one; otherwise the first revision wanted (>= 1). */
  readonly startRevision: number;
  readonly noPut: boolean;
  readonly noDelete: boolean;
  readonly prevKv: boolean;
  readonly fragment: boolean;
  readonly progressNotify: boolean;
  /** 0 = the stream picks the id; otherwise the client's own (positive) id. */
  readonly requestedId: number;
}

export type WatchCommand =
  | { readonly kind: "create"; readonly spec: WatchSpec }
  | { readonly kind: "reject"; readonly reason: string }
  | { readonly kind: "cancel"; readonly watchId: number }
  | { readonly kind: "progress" }
  | { readonly kind: "ignore" };

/** etcd's mvcc errors, sent as cancel_reason (clients match on these strings). */
export const CANCEL_REASONS = {
  emptyRange: "mvcc: watcher range is empty",
  duplicateId: "mvcc: duplicate watch ID provided on the WatchStream",
  compacted: ERRORS.COMPACTED.message,
  negativeId: "etcdserver: watch_id must not be negative",
} as const;

/** mvccpb FilterType values (WatchCreateRequest.FilterType). */
const FILTER_NOPUT = 0;
const FILTER_NODELETE = 1;
const SMALLEST_KEY = new Uint8Array([0]);
const EMPTY = new Uint8Array(0);

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(
    Buffer.from(a.buffer, a.byteOffset, a.byteLength),
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

function isFromKey(rangeEnd: Uint8Array): boolean {
  return rangeEnd.byteLength === 1 && rangeEnd[0] === 0;
}

export function parseCreate(request: etcdserverpb.WatchCreateRequest.$Properties): WatchCommand {
  const key = request.key && request.key.byteLength > 0 ? request.key : SMALLEST_KEY;
  const rangeEnd = request.rangeEnd ?? EMPTY;
  const startRevision = request.startRevision ?? 0;
  const requestedId = request.watchId ?? 0;
  // etcd (3.5+) answers a negative start as it would a compacted one.
  if (startRevision < 0) return { kind: "reject", reason: CANCEL_REASONS.compacted };
  // A negative id would collide with -1, which clients read as "every watcher".
  if (requestedId < 0) return { kind: "reject", reason: CANCEL_REASONS.negativeId };
  if (rangeEnd.byteLength > 0 && !isFromKey(rangeEnd) && compareBytes(key, rangeEnd) >= 0) {
    return { kind: "reject", reason: CANCEL_REASONS.emptyRange };
  }
  const filters = request.filters ?? [];
  return {
    kind: "create",
    spec: {
      key,
      rangeEnd,
      range: toKeyRange(key, rangeEnd),
      startRevision,
      noPut: filters.includes(FILTER_NOPUT),
      noDelete: filters.includes(FILTER_NODELETE),
      prevKv: request.prevKv === true,
      fragment: request.fragment === true,
      progressNotify: request.progressNotify === true,
      requestedId,
    },
  };
}

/** Which of the oneof's members is set; an empty request is ignored as etcd does. */
export function parseWatchRequest(request: etcdserverpb.WatchRequest.$Properties): WatchCommand {
  if (request.createRequest) return parseCreate(request.createRequest);
  if (request.cancelRequest) return { kind: "cancel", watchId: request.cancelRequest.watchId ?? 0 };
  if (request.progressRequest) return { kind: "progress" };
  return { kind: "ignore" };
}
