// Range reads with etcd's options: single key / range_end / from-key, limit +
// more, count (every key in the range at the revision, before the min/max
// filters, as etcd reports it), count_only, keys_only, sort target and order,
// revision, min/max mod and create revision. Pure: reads a KvReadView only.
import { assertNever } from "../util/assert.js";
import { toKeyRange } from "./key-range.js";
import type { KeyValue } from "./mvcc/key-value.js";
import type { KvReadView } from "./mvcc/mvcc-store.js";

export type SortOrder = "none" | "ascend" | "descend";
export type SortTarget = "key" | "version" | "create" | "mod" | "value";

export interface RangeQuery {
  readonly key: Uint8Array;
  /** Empty = the single key; [0] = every key >= key; otherwise [key, rangeEnd). */
  readonly rangeEnd: Uint8Array;
  /** 0 = no limit. */
  readonly limit: number;
  /** 0 = the view's current revision. */
  readonly revision: number;
  /** "none" with a target other than "key" sorts ascending, as etcd does. */
  readonly sortOrder: SortOrder;
  readonly sortTarget: SortTarget;
  readonly keysOnly: boolean;
  readonly countOnly: boolean;
  /** Each bound 0 = unbounded. */
  readonly minModRevision: number;
  readonly maxModRevision: number;
  readonly minCreateRevision: number;
  readonly maxCreateRevision: number;
}

export interface RangeAnswer {
  readonly kvs: readonly KeyValue[];
  readonly more: boolean;
  readonly count: number;
  /** header.revision: the view's current revision, not the one read at. */
  readonly revision: number;
}

export type RangeRevisionError = "future-rev" | "compacted";

export type RangeResult =
  | { readonly kind: "range"; readonly ok: RangeAnswer }
  | { readonly kind: "error"; readonly code: RangeRevisionError };

const EMPTY = new Uint8Array(0);

/** etcd's checks on RangeRequest.revision against a view. */
export function checkRangeRevision(view: KvReadView, revision: number): RangeRevisionError | null {
  if (revision > view.revision) {
    return "future-rev";
  }
  if (revision > 0 && revision < view.compactRevision) {
    return "compacted";
  }
  return null;
}

/** The order etcd applies: NONE with a non-key target means ASCEND. */
export function effectiveSortOrder(order: SortOrder, target: SortTarget): SortOrder {
  return order === "none" && target !== "key" ? "ascend" : order;
}

function passesFilters(query: RangeQuery, kv: KeyValue): boolean {
  if (query.minModRevision > 0 && kv.modRevision < query.minModRevision) return false;
  if (query.maxModRevision > 0 && kv.modRevision > query.maxModRevision) return false;
  if (query.minCreateRevision > 0 && kv.createRevision < query.minCreateRevision) return false;
  if (query.maxCreateRevision > 0 && kv.createRevision > query.maxCreateRevision) return false;
  return true;
}

function compareBy(target: SortTarget): (a: KeyValue, b: KeyValue) => number {
  switch (target) {
    case "key":
      return (a, b) => Buffer.compare(a.key, b.key);
    case "version":
      return (a, b) => a.version - b.version;
    case "create":
      return (a, b) => a.createRevision - b.createRevision;
    case "mod":
      return (a, b) => a.modRevision - b.modRevision;
    case "value":
      return (a, b) => Buffer.compare(a.value, b.value);
    default:
      return assertNever(target, "sort target");
  }
}

export function rangeQuery(view: KvReadView, query: RangeQuery): RangeResult {
  const error = checkRangeRevision(view, query.revision);
  if (error !== null) {
    return { kind: "error", code: error };
  }
  const readRevision = query.revision > 0 ? query.revision : view.revision;
  const order = effectiveSortOrder(query.sortOrder, query.sortTarget);
  // Key order ascending is the scan order: keep limit+1 to learn `more`. Any
  // other order needs the whole filtered set before it can be cut.
  const sorted = order !== "none" && !(query.sortTarget === "key" && order === "ascend");
  const limit = Math.max(query.limit, 0);
  const keep = sorted || limit === 0 ? Number.POSITIVE_INFINITY : limit + 1;
  let kvs: KeyValue[] = [];
  let count = 0;
  for (const kv of view.scan(toKeyRange(query.key, query.rangeEnd), readRevision)) {
    count++;
    if (!query.countOnly && kvs.length < keep && passesFilters(query, kv)) {
      kvs.push(kv);
    }
  }
  if (query.countOnly) {
    return { kind: "range", ok: { kvs: [], more: false, count, revision: view.revision } };
  }
  if (sorted) {
    const compare = compareBy(query.sortTarget);
    // Array.prototype.sort is stable, so ties stay in key order on every member.
    kvs.sort(order === "descend" ? (a, b) => compare(b, a) : compare);
  }
  const more = limit > 0 && kvs.length > limit;
  if (more) {
    kvs = kvs.slice(0, limit);
  }
  const projected = query.keysOnly ? kvs.map((kv) => ({ ...kv, value: EMPTY })) : kvs;
  return { kind: "range", ok: { kvs: projected, more, count, revision: view.revision } };
}
