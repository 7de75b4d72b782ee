// The replicated key-value keyspace with etcd's revision semantics: one global
// revision bumped once per write, create/mod revision and version per key.
// Pure and deterministic: mutations return the storage writes they imply and
// the shell persists them; reads are served from memory.
// This first version keeps only the newest value of each key (no history yet).
import { Packr } from "msgpackr";
import { assert } from "../util/assert.js";
import { type KeyRange, keyBytes, keyString } from "./key-range.js";
import { SortedKeys } from "./sorted-keys.js";

export interface KeyValue {
  readonly key: Uint8Array;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  readonly value: Uint8Array;
  readonly lease: number;
}

/** A write the shell must persist, in order, in the apply batch. */
export interface TableWrite {
  readonly table: string;
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
}

export const KV_TABLE = "kv";
export const KV_META_TABLE = "kv-meta";
const REVISION_KEY = keyBytes("revision");

const packr = new Packr({ useRecords: false, moreTypes: false });

interface StoredKeyValue {
  c: number;
  m: number;
  v: number;
  l: number;
  d: Uint8Array;
}

export class KvStore {
  private readonly records = new Map<string, KeyValue>();
  private readonly order = new SortedKeys();
  /** etcd starts an empty store at revision 1. */
  private currentRevision = 1;

  get revision(): number {
    return this.currentRevision;
  }

  get keyCount(): number {
    return this.records.size;
  }

  get(key: string): KeyValue | undefined {
    return this.records.get(key);
  }

  /** Keys in range, in byte order, up to limit (0 = all). */
  *scan(range: KeyRange, limit = 0): Generator<KeyValue> {
    if (range.end === null) {
      const single = this.records.get(range.start);
      if (single !== undefined) {
        yield single;
      }
      return;
    }
    for (const key of this.order.between(range.start, range.end, limit)) {
      const record = this.records.get(key);
      assert(record !== undefined, "sorted key index and records disagree");
      yield record;
    }
  }

  countInRange(range: KeyRange): number {
    let count = 0;
    for (const _ of this.scan(range)) {
      count++;
    }
    return count;
  }

  /** Starts a write transaction: every mutation inside shares one new revision. */
  beginWrite(): WriteTxn {
    return new WriteTxn(this);
  }

  /** @internal used by WriteTxn.commit */
  commitRevision(revision: number): void {
    assert(revision === this.currentRevision + 1, "revisions advance by exactly one per write");
    this.currentRevision = revision;
  }

  /** @internal */
  setRecord(record: KeyValue): void {
    const key = keyString(record.key);
    if (!this.records.has(key)) {
      this.order.insert(key);
    }
    this.records.set(key, record);
  }

  /** @internal */
  deleteRecord(key: string): void {
    if (this.records.delete(key)) {
      this.order.remove(key);
    }
  }

  /** Restores one persisted row at boot (see KvStore.tables for the layout). */
  loadRow(table: string, key: Uint8Array, value: Uint8Array): void {
    if (table === KV_META_TABLE) {
      assert(keyString(key) === "revision", `unknown kv-meta key ${keyString(key)}`);
      this.currentRevision = Number(packr.unpack(value));
      return;
    }
    assert(table === KV_TABLE, `unknown table ${table}`);
    const stored = packr.unpack(value) as StoredKeyValue;
    this.setRecord({
      key: Buffer.from(key),
      createRevision: stored.c,
      modRevision: stored.m,
      version: stored.v,
      lease: stored.l,
      value: stored.d,
    });
  }

  static readonly tables: readonly string[] = [KV_TABLE, KV_META_TABLE];
}

/** Mutations of one revision; commit() returns the storage writes. */
export class WriteTxn {
  private readonly revision: number;
  private changed = false;
  private readonly writes: TableWrite[] = [];

  constructor(private readonly store: KvStore) {
    this.revision = store.revision + 1;
  }

  put(key: Uint8Array, value: Uint8Array, lease: number): KeyValue {
    const previous = this.store.get(keyString(key));
    const record: KeyValue = {
      key,
      value,
      lease,
      createRevision: previous === undefined ? this.revision : previous.createRevision,
      modRevision: this.revision,
      version: previous === undefined ? 1 : previous.version + 1,
    };
    this.store.setRecord(record);
    const stored: StoredKeyValue = {
      c: record.createRevision,
      m: record.modRevision,
      v: record.version,
      l: record.lease,
      d: record.value,
    };
    this.writes.push({ table: KV_TABLE, key, value: packr.pack(stored) });
    this.changed = true;
    return record;
  }

  deleteRange(range: KeyRange): KeyValue[] {
    const removed = [...this.store.scan(range)];
    for (const record of removed) {
      this.store.deleteRecord(keyString(record.key));
      this.writes.push({ table: KV_TABLE, key: record.key, value: null });
    }
    if (removed.length > 0) {
      this.changed = true;
    }
    return removed;
  }

  /** Applies the revision bump (only if something changed) and returns the writes. */
  commit(): { revision: number; writes: TableWrite[] } {
    if (!this.changed) {
      return { revision: this.store.revision, writes: [] };
    }
    this.store.commitRevision(this.revision);
    this.writes.push({ table: KV_META_TABLE, key: REVISION_KEY, value: packr.pack(this.revision) });
    return { revision: this.revision, writes: this.writes };
  }
}
