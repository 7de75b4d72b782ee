// Secondary indexes of the current resources: kind, status, region, owner,
// category and each label "key=value", as value → set of ids. List narrows
// its candidates with the smallest index its equality filters name; filters
// the indexes cannot answer (label !=, name substring) are checked per record.
import { assert } from "../../util/assert.js";
import type { Resource } from "./resource-types.js";

export const INDEXED_FIELDS = ["kind", "status", "region", "owner", "category", "label"] as const;
export type IndexedField = (typeof INDEXED_FIELDS)[number];

const EMPTY: ReadonlySet<string> = new Set();

function valuesOf(resource: Resource, field: IndexedField): string[] {
  switch (field) {
    case "kind":
      return [resource.kind];
    case "status":
      return [resource.status];
    case "region":
      return [resource.region];
    case "owner":
      return [resource.owner];
    case "category":
      return [resource.category];
    case "label":
      return Object.entries(resource.labels).map(([key, value]) => labelTerm(key, value));
  }
}

export function labelTerm(key: string, value: string): string {
  return `${key}=${value}`;
}

export class ResourceIndex {
  private readonly maps = new Map<IndexedField, Map<string, Set<string>>>(
    INDEXED_FIELDS.map((field) => [field, new Map()]),
  );

  /** Ids whose current `field` equals `value` (for labels: the term "key=value"). */
  lookup(field: IndexedField, value: string): ReadonlySet<string> {
    return this.map(field).get(value) ?? EMPTY;
  }

  add(resource: Resource): void {
    for (const field of INDEXED_FIELDS) {
      const map = this.map(field);
      for (const value of valuesOf(resource, field)) {
        let ids = map.get(value);
        if (ids === undefined) {
          ids = new Set();
          map.set(value, ids);
        }
        ids.add(resource.id);
      }
    }
  }

  remove(resource: Resource): void {
    for (const field of INDEXED_FIELDS) {
      const map = this.map(field);
      for (const value of valuesOf(resource, field)) {
        const ids = map.get(value);
        assert(ids?.delete(resource.id) === true, `${field} index lost resource ${resource.id}`);
        if (ids.size === 0) map.delete(value);
      }
    }
  }

  private map(field: IndexedField): Map<string, Set<string>> {
    const map = this.maps.get(field);
    assert(map !== undefined, `no index for ${field}`);
    return map;
  }
}
