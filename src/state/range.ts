// Range reads over the keyspace with etcd's options: limit/more/count,
// keys_only, count_only, sort and revision bounds. Pure: reads only.
import { assertNever } from "../util/assert.js";
import { toKeyRange } from "./key-range.js";
import type { KeyValue, KvStore } from "./kv-store.js";

export type SortOrder = "none" | "ascend" | "descend";
export type SortTarget = "key" | "version" | "create" | "mod" | "value";

export interface RangeQuery {
  readonly key: Uint8Array;
  readonly rangeEnd: Uint8Array;
  readonly limit: number;
  readonly sortOrder: SortOrder;
  readonly sortTarget: SortTarget;
  readonly keysOnly: boolean;
  readonly countOnly: boolean;
  readonly minModRevision: number;
  readonly maxModRevision: number;
  readonly minCreateRevision: number;
  readonly maxCreateRevision: number;
}

export interface RangeAnswer {
  readonly kvs: readonly KeyValue[];
  readonly more: boolean;
  readonly count: number;
  readonly revision: number;
}

const EMPTY = new Uint8Array(0);

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

function hasFilters(query: RangeQuery): boolean {
  return (
    query.minModRevision > 0 ||
    query.maxModRevision > 0 ||
    query.minCreateRevision > 0 ||
    query.maxCreateRevision > 0
  );
}

export function rangeQuery(store: KvStore, query: RangeQuery): RangeAnswer {
  const range = toKeyRange(query.key, query.rangeEnd);
  const revision = store.revision;
  // Key-ordered, unfiltered reads can stop at limit+1; everything else needs the full set.
  const sorted =
    query.sortOrder !== "none" && !(query.sortTarget === "key" && query.sortOrder === "ascend");
  if (!sorted && !hasFilters(query) && !query.countOnly) {
    const kvs = [...store.scan(range, Math.max(query.limit, 0))];
    const count =
      query.limit > 0 && kvs.length === query.limit ? store.countInRange(range) : kvs.length;
    return { kvs: project(kvs, query), more: count > kvs.length, count, revision };
  }
  let all = [...store.scan(range)].filter((kv) => passesFilters(query, kv));
  if (sorted) {
    const compare = compareBy(query.sortTarget);
    all = all.sort(query.sortOrder === "descend" ? (a, b) => compare(b, a) : compare);
  }
  const count = all.length;
  if (query.countOnly) {
    return { kvs: [], more: false, count, revision };
  }
  const kvs = query.limit > 0 ? all.slice(0, query.limit) : all;
  return { kvs: project(kvs, query), more: count > kvs.length, count, revision };
}

function project(kvs: KeyValue[], query: RangeQuery): KeyValue[] {
  if (!query.keysOnly) {
    return kvs;
  }
  return kvs.map((kv) => ({ ...kv, value: EMPTY }));
}
