// Resources.List and Resources.Stats as pure reads of the resource table.
//
// Pages are consistent under concurrent writes: the first page fixes the
// revision R it reads at (the current one) and every next_page_token carries
// R with the sort key and id of the last resource returned. Later pages read
// each resource's version at R from the kept history (resources.ts), so a
// resource changed, renamed or created between pages is neither repeated nor
// skipped. Tokens outlive history only so far: once versions newer than R are
// pruned (RESOURCE_HISTORY_MAX / RESOURCE_HISTORY_AGE_MS) the token is refused
// with failed-precondition and the client restarts the listing.
import {
  failedPrecondition,
  invalidArgument,
  isPlatformError,
  type PlatformError,
} from "./errors.js";
import { decodePageToken, encodePageToken, queryDigest } from "./page-token.js";
import { labelTerm } from "./resource-index.js";
import {
  RESOURCE_KINDS,
  RESOURCE_STATUSES,
  type Resource,
  type ResourceKind,
  type ResourceStatus,
} from "./resource-types.js";
import type { ResourceTable } from "./resources.js";

export const RESOURCE_PAGE_MAX = 500;

export interface ResourceFilter {
  /** "" = any for every field. */
  readonly kind: ResourceKind | "";
  /** "" lists every status but DELETED; DELETED resources are listed only when asked for. */
  readonly status: ResourceStatus | "";
  readonly region: string;
  readonly owner: string;
  readonly category: string;
  /** "env=prod,tier!=db": = needs the label with that value; != matches a missing label too. */
  readonly labelSelector: string;
  /** Case-insensitive substring of the name. */
  readonly nameContains: string;
}

export const RESOURCE_SORT_FIELDS = ["name", "created_at", "updated_at"] as const;
export type ResourceSortField = (typeof RESOURCE_SORT_FIELDS)[number];

export interface ResourceListQuery {
  readonly filter: ResourceFilter;
  readonly sortBy: ResourceSortField;
  readonly descending: boolean;
  /** 1..RESOURCE_PAGE_MAX. */
  readonly pageSize: number;
  /** "" = first page. */
  readonly pageToken: string;
}

export interface ResourceListPage {
  readonly resources: readonly Resource[];
  /** "" on the last page. */
  readonly nextPageToken: string;
  /** The revision every page of this listing reads at. */
  readonly revision: number;
}

export interface LabelRequirement {
  readonly key: string;
  readonly op: "=" | "!=";
  readonly value: string;
}

const TERM = /^([a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?)\s*(!=|==|=)\s*([A-Za-z0-9._-]{0,63})$/;

export function parseLabelSelector(selector: string): LabelRequirement[] | PlatformError {
  if (selector.trim() === "") return [];
  const requirements: LabelRequirement[] = [];
  for (const raw of selector.split(",")) {
    const match = TERM.exec(raw.trim());
    if (match === null) {
      return invalidArgument(
        `filter.label_selector term ${JSON.stringify(raw.trim())} must be key=value or key!=value`,
      );
    }
    const op = match[3] === "!=" ? "!=" : "=";
    requirements.push({ key: match[1] as string, op, value: match[4] as string });
  }
  return requirements;
}

function validateQuery(query: ResourceListQuery): PlatformError | null {
  const { filter } = query;
  if (
    !(
      Number.isSafeInteger(query.pageSize) &&
      query.pageSize >= 1 &&
      query.pageSize <= RESOURCE_PAGE_MAX
    )
  ) {
    return invalidArgument(`page_size must be 1..${RESOURCE_PAGE_MAX}, got ${query.pageSize}`);
  }
  if (filter.kind !== "" && !RESOURCE_KINDS.includes(filter.kind)) {
    return invalidArgument(
      `filter.kind must be one of ${RESOURCE_KINDS.join("|")}, got ${JSON.stringify(filter.kind)}`,
    );
  }
  if (filter.status !== "" && !RESOURCE_STATUSES.includes(filter.status)) {
    return invalidArgument(
      `filter.status must be one of ${RESOURCE_STATUSES.join("|")}, got ${JSON.stringify(filter.status)}`,
    );
  }
  if (!RESOURCE_SORT_FIELDS.includes(query.sortBy)) {
    return invalidArgument(
      `sort_by must be one of ${RESOURCE_SORT_FIELDS.join("|")}, got ${JSON.stringify(query.sortBy)}`,
    );
  }
  return null;
}

export function matchesFilter(
  resource: Resource,
  filter: ResourceFilter,
  labels: readonly LabelRequirement[],
): boolean {
  if (filter.status === "" ? resource.status === "DELETED" : resource.status !== filter.status)
    return false;
  if (filter.kind !== "" && resource.kind !== filter.kind) return false;
  if (filter.region !== "" && resource.region !== filter.region) return false;
  if (filter.owner !== "" && resource.owner !== filter.owner) return false;
  if (filter.category !== "" && resource.category !== filter.category) return false;
  const name = filter.nameContains.toLowerCase();
  if (name !== "" && !resource.name.toLowerCase().includes(name)) return false;
  return labels.every((req) => (resource.labels[req.key] === req.value) === (req.op === "="));
}

/** The smallest current-index set the equality filters allow (null = no equality filter). */
function indexedCandidates(
  table: ResourceTable,
  filter: ResourceFilter,
  labels: readonly LabelRequirement[],
): ReadonlySet<string> | null {
  const sets: ReadonlySet<string>[] = [];
  if (filter.kind !== "") sets.push(table.index.lookup("kind", filter.kind));
  if (filter.status !== "") sets.push(table.index.lookup("status", filter.status));
  if (filter.region !== "") sets.push(table.index.lookup("region", filter.region));
  if (filter.owner !== "") sets.push(table.index.lookup("owner", filter.owner));
  if (filter.category !== "") sets.push(table.index.lookup("category", filter.category));
  for (const req of labels)
    if (req.op === "=") sets.push(table.index.lookup("label", labelTerm(req.key, req.value)));
  if (sets.length === 0) return null;
  return sets.reduce((smallest, set) => (set.size < smallest.size ? set : smallest));
}

/** Resources matching the filter as of `revision`, unsorted. */
function visibleAt(
  table: ResourceTable,
  revision: number,
  filter: ResourceFilter,
  labels: readonly LabelRequirement[],
): Resource[] {
  const indexed = indexedCandidates(table, filter, labels);
  // The indexes describe current versions; anything changed after `revision`
  // may have matched then, so it joins the candidates and is judged at `revision`.
  const ids =
    indexed === null
      ? [...table.all()].map((r) => r.id)
      : [...indexed, ...table.changedAfter(revision)];
  const out: Resource[] = [];
  for (const id of new Set(ids)) {
    const version = table.versionAt(id, revision);
    if (version !== undefined && matchesFilter(version, filter, labels)) out.push(version);
  }
  return out;
}

type SortValue = string | number;

function sortValue(resource: Resource, field: ResourceSortField): SortValue {
  switch (field) {
    case "name":
      return resource.name;
    case "created_at":
      return resource.createdAtMs;
    case "updated_at":
      return resource.updatedAtMs;
  }
}

function compareKeys(a: [SortValue, string], b: [SortValue, string]): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
}

interface Cursor {
  readonly revision: number;
  readonly after: [SortValue, string] | null;
}

function readCursor(
  query: ResourceListQuery,
  digest: string,
  table: ResourceTable,
  currentRevision: number,
): Cursor | PlatformError {
  if (query.pageToken === "") return { revision: currentRevision, after: null };
  const fields = decodePageToken(query.pageToken, digest);
  if (isPlatformError(fields)) return fields;
  const { r, s, i } = fields;
  const validKey = (typeof s === "string" || typeof s === "number") && typeof i === "string";
  if (
    !(Number.isSafeInteger(r) && (r as number) >= 1 && (r as number) <= currentRevision) ||
    !validKey
  ) {
    return invalidArgument(
      "page_token is malformed; pass the next_page_token of the previous page",
    );
  }
  if ((r as number) < table.historyFloor) {
    return failedPrecondition(
      `page_token expired: it reads at revision ${r as number}, but history is kept only from revision ${table.historyFloor}; restart the listing`,
    );
  }
  return { revision: r as number, after: [s as SortValue, i as string] };
}

export function listResources(
  table: ResourceTable,
  currentRevision: number,
  query: ResourceListQuery,
): ResourceListPage | PlatformError {
  const invalid = validateQuery(query);
  if (invalid !== null) return invalid;
  const labels = parseLabelSelector(query.filter.labelSelector);
  if (isPlatformError(labels)) return labels;
  const digest = queryDigest(JSON.stringify([query.filter, query.sortBy, query.descending]));
  const cursor = readCursor(query, digest, table, currentRevision);
  if (isPlatformError(cursor)) return cursor;
  const sign = query.descending ? -1 : 1;
  const keyOf = (r: Resource): [SortValue, string] => [sortValue(r, query.sortBy), r.id];
  const matching = visibleAt(table, cursor.revision, query.filter, labels).sort(
    (a, b) => sign * compareKeys(keyOf(a), keyOf(b)),
  );
  const after = cursor.after;
  const start =
    after === null ? 0 : matching.findIndex((r) => sign * compareKeys(keyOf(r), after) > 0);
  const from = start < 0 ? matching.length : start;
  const resources = matching.slice(from, from + query.pageSize);
  const last = resources[resources.length - 1];
  const more = from + query.pageSize < matching.length && last !== undefined;
  const nextPageToken = more
    ? encodePageToken(digest, { r: cursor.revision, s: sortValue(last, query.sortBy), i: last.id })
    : "";
  return { resources, nextPageToken, revision: cursor.revision };
}

export interface ResourceStats {
  readonly revision: number;
  readonly total: number;
  readonly byKind: Readonly<Record<string, number>>;
  readonly byStatus: Readonly<Record<string, number>>;
  readonly byRegion: Readonly<Record<string, number>>;
  readonly byOwner: Readonly<Record<string, number>>;
  /** Sums over resources that are not DELETED. */
  readonly cpuTotal: number;
  readonly memoryMibTotal: number;
  readonly diskGibTotal: number;
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function sortedCounts(counts: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of Object.keys(counts).sort()) out[key] = counts[key] as number;
  return out;
}

/** Counts and sums over the current resources the filter selects (status "" here includes DELETED). */
export function resourceStats(
  table: ResourceTable,
  currentRevision: number,
  filter: ResourceFilter,
): ResourceStats | PlatformError {
  const labels = parseLabelSelector(filter.labelSelector);
  if (isPlatformError(labels)) return labels;
  const counts = { kind: {}, status: {}, region: {}, owner: {} } as Record<
    "kind" | "status" | "region" | "owner",
    Record<string, number>
  >;
  let total = 0;
  let cpuTotal = 0;
  let memoryMibTotal = 0;
  let diskGibTotal = 0;
  for (const resource of table.all()) {
    const wanted = filter.status === "" ? { ...filter, status: resource.status } : filter;
    if (!matchesFilter(resource, wanted, labels)) continue;
    total++;
    bump(counts.kind, resource.kind);
    bump(counts.status, resource.status);
    bump(counts.region, resource.region);
    bump(counts.owner, resource.owner);
    if (resource.status === "DELETED") continue;
    cpuTotal += resource.spec.cpu;
    memoryMibTotal += resource.spec.memoryMib;
    diskGibTotal += resource.spec.diskGib;
  }
  return {
    revision: currentRevision,
    total,
    byKind: sortedCounts(counts.kind),
    byStatus: sortedCounts(counts.status),
    byRegion: sortedCounts(counts.region),
    byOwner: sortedCounts(counts.owner),
    cpuTotal,
    memoryMibTotal,
    diskGibTotal,
  };
}
