// The resource inventory: current records with their secondary indexes, and
// a bounded history of superseded versions so List can read the inventory as
// it was at a past revision (page tokens carry that revision; see
// resource-list.ts). A version superseded at revision S served reads in
// [its modRevision, S); once it is pruned, reads below S are refused, so the
// history floor is the highest S pruned so far. Pruning runs inside apply,
// by count and by the command's clock, the same on every member.
import { assert } from "../../util/assert.js";
import type { RowVisitor, TableWrite } from "../table-write.js";
import {
  asNumber,
  asString,
  decodeRow,
  encodeRow,
  insertSorted,
  metaWrite,
  partitionPoint,
  readText,
  readU64,
  textKey,
  u64Key,
} from "./codec.js";
import { ResourceIndex } from "./resource-index.js";
import type { Resource } from "./resource-types.js";

/** resource: id (UTF-8) → msgpack Resource. DELETED resources stay (their status is final). */
export const RESOURCE_TABLE = "resource";
/** resource-history: superseded revision (8-byte BE) + id → msgpack {supersededAtMs, resource}. */
export const RESOURCE_HISTORY_TABLE = "resource-history";
export const RESOURCE_HISTORY_META = "resource-history";

/** Superseded versions kept at most, and for how long: bounds how long a page token stays valid. */
export const RESOURCE_HISTORY_MAX = 10_000;
export const RESOURCE_HISTORY_AGE_MS = 15 * 60_000;
const HISTORY_PRUNE_BATCH = 256;

interface HistoryEntry {
  readonly supersededRevision: number;
  readonly supersededAtMs: number;
  readonly resource: Resource;
}

const byRevisionThenId = (a: HistoryEntry, b: HistoryEntry): number =>
  a.supersededRevision - b.supersededRevision ||
  (a.resource.id < b.resource.id ? -1 : a.resource.id > b.resource.id ? 1 : 0);

function historyKey(entry: HistoryEntry): Uint8Array {
  return Buffer.concat([u64Key(entry.supersededRevision), textKey(entry.resource.id)]);
}

export class ResourceTable {
  private readonly records = new Map<string, Resource>();
  readonly index = new ResourceIndex();
  /** Every kept superseded version, by (superseded revision, id). */
  private history: HistoryEntry[] = [];
  /** id → its kept superseded versions, oldest first. */
  private readonly versions = new Map<string, HistoryEntry[]>();
  private floor = 0;

  get size(): number {
    return this.records.size;
  }

  /** Reads at revisions below this are refused (their versions were pruned). */
  get historyFloor(): number {
    return this.floor;
  }

  get historySize(): number {
    return this.history.length;
  }

  get(id: string): Resource | undefined {
    return this.records.get(id);
  }

  all(): IterableIterator<Resource> {
    return this.records.values();
  }

  /** The version of `id` visible at `revision`, or undefined if it did not exist yet. */
  versionAt(id: string, revision: number): Resource | undefined {
    assert(revision >= this.floor, `read at ${revision} below the history floor ${this.floor}`);
    const current = this.records.get(id);
    if (current === undefined || current.createRevision > revision) return undefined;
    if (current.modRevision <= revision) return current;
    const kept = this.versions.get(id) ?? [];
    const entry = kept.find(
      (e) => e.resource.modRevision <= revision && revision < e.supersededRevision,
    );
    assert(entry !== undefined, `resource ${id} has no version at ${revision}`);
    return entry.resource;
  }

  /** Ids changed after `revision`: the only ones whose current index entries may not hold at it. */
  changedAfter(revision: number): Set<string> {
    const start = partitionPoint(this.history, (e) => e.supersededRevision <= revision);
    const ids = new Set<string>();
    for (let i = start; i < this.history.length; i++)
      ids.add((this.history[i] as HistoryEntry).resource.id);
    return ids;
  }

  /** Stores a new or changed resource, keeping the version it replaces, then prunes history. */
  put(resource: Resource, atMs: number): TableWrite[] {
    const previous = this.records.get(resource.id);
    const writes: TableWrite[] = [
      { table: RESOURCE_TABLE, key: textKey(resource.id), value: encodeRow(resource) },
    ];
    if (previous !== undefined) {
      assert(
        resource.modRevision > previous.modRevision,
        `resource ${resource.id} revision must grow`,
      );
      assert(
        resource.version === previous.version + 1,
        `resource ${resource.id} version must step by 1`,
      );
      const entry = {
        supersededRevision: resource.modRevision,
        supersededAtMs: atMs,
        resource: previous,
      };
      writes.push({
        table: RESOURCE_HISTORY_TABLE,
        key: historyKey(entry),
        value: encodeRow(entry),
      });
      this.keep(entry);
      this.index.remove(previous);
    }
    this.records.set(resource.id, resource);
    this.index.add(resource);
    writes.push(...this.prune(atMs));
    return writes;
  }

  /**
   * Every row exactly as persisted (see state-digest.ts). The meta row exists
   * once history was pruned, which raises the floor above 0.
   */
  visitRows(visit: RowVisitor): void {
    for (const resource of this.records.values()) {
      visit(RESOURCE_TABLE, textKey(resource.id), encodeRow(resource));
    }
    for (const entry of this.history) {
      visit(RESOURCE_HISTORY_TABLE, historyKey(entry), encodeRow(entry));
    }
    if (this.floor > 0) {
      const meta = metaWrite(RESOURCE_HISTORY_META, { floorRevision: this.floor });
      visit(meta.table, meta.key, meta.value as Uint8Array);
    }
  }

  loadRow(table: string, key: Uint8Array, value: Uint8Array): void {
    if (table === RESOURCE_TABLE) {
      const id = readText(key);
      const row = decodeRow(value, `resource ${id}`);
      assert(asString(row.id, "resource.id") === id, `resource row ${id} key mismatch`);
      asNumber(row.version, "resource.version");
      const resource = row as unknown as Resource;
      this.records.set(id, resource);
      this.index.add(resource);
      return;
    }
    assert(table === RESOURCE_HISTORY_TABLE, `ResourceTable cannot load ${table}`);
    const row = decodeRow(value, "resource history");
    const entry = row as unknown as HistoryEntry;
    assert(asNumber(row.supersededRevision, "history revision") === readU64(key), "history key");
    assert(readText(key, 8) === entry.resource.id, "resource history key names another id");
    this.keep(entry);
  }

  loadMeta(value: Uint8Array): void {
    this.floor = asNumber(decodeRow(value, "resource history meta").floorRevision, "history floor");
  }

  private keep(entry: HistoryEntry): void {
    insertSorted(this.history, entry, byRevisionThenId);
    let kept = this.versions.get(entry.resource.id);
    if (kept === undefined) {
      kept = [];
      this.versions.set(entry.resource.id, kept);
    }
    insertSorted(kept, entry, byRevisionThenId);
  }

  private prune(atMs: number): TableWrite[] {
    const writes: TableWrite[] = [];
    let pruned = 0;
    while (pruned < HISTORY_PRUNE_BATCH) {
      const oldest = this.history[pruned];
      if (oldest === undefined) break;
      const overCount = this.history.length - pruned > RESOURCE_HISTORY_MAX;
      if (!overCount && oldest.supersededAtMs >= atMs - RESOURCE_HISTORY_AGE_MS) break;
      const kept = this.versions.get(oldest.resource.id);
      assert(kept !== undefined && kept[0] === oldest, "history versions out of order");
      kept.shift();
      if (kept.length === 0) this.versions.delete(oldest.resource.id);
      this.floor = Math.max(this.floor, oldest.supersededRevision);
      writes.push({ table: RESOURCE_HISTORY_TABLE, key: historyKey(oldest), value: null });
      pruned++;
    }
    if (pruned === 0) return writes;
    this.history = this.history.slice(pruned);
    writes.push(metaWrite(RESOURCE_HISTORY_META, { floorRevision: this.floor }));
    return writes;
  }
}
