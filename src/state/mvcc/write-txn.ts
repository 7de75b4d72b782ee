// One write transaction of the MVCC store: every change inside it shares the
// next main revision and takes the next sub revision. Changes reach the store
// immediately, so reads through the txn see its own earlier writes; commit()
// makes the revision current (only if something changed) and returns the
// rows to persist and the watch events in sub-revision order.
import { assert } from "../../util/assert.js";
import { type KeyRange, keyString } from "../key-range.js";
import type { TableWrite } from "../table-write.js";
import {
  encodeVersionRow,
  eventOf,
  type KeyValue,
  type KeyVersion,
  liveVersion,
  tombstoneVersion,
  type WatchEvent,
} from "./key-value.js";
import { KV_TABLE, type KvReadView, kvMetaWrite, type MvccStore } from "./mvcc-store.js";

export interface CommittedTxn {
  /** The store revision after the txn (unchanged if nothing was written). */
  readonly revision: number;
  readonly writes: readonly TableWrite[];
  readonly events: readonly WatchEvent[];
}

export class WriteTxn implements KvReadView {
  readonly beginRevision: number;
  private readonly events: WatchEvent[] = [];
  private readonly writes: TableWrite[] = [];
  private committed = false;

  constructor(private readonly store: MvccStore) {
    this.beginRevision = store.revision;
  }

  /** etcd: reads inside a write txn see revision begin+1 once it has changed something. */
  get revision(): number {
    return this.events.length > 0 ? this.beginRevision + 1 : this.beginRevision;
  }

  get compactRevision(): number {
    return this.store.compactRevision;
  }

  get firstRevision(): number {
    return this.store.firstRevision;
  }

  get changed(): boolean {
    return this.events.length > 0;
  }

  get(key: string, revision = this.revision): KeyValue | undefined {
    return this.store.get(key, revision);
  }

  scan(range: KeyRange, revision: number): Generator<KeyValue> {
    return this.store.scan(range, revision);
  }

  put(
    key: Uint8Array,
    value: Uint8Array,
    lease: number,
  ): { kv: KeyValue; prevKv: KeyValue | null } {
    assert(!this.committed, "put after commit");
    const main = this.beginRevision + 1;
    const previous = this.store.get(keyString(key), main) ?? null;
    const version = liveVersion(
      key,
      {
        createRevision: previous === null ? main : previous.createRevision,
        modRevision: main,
        version: previous === null ? 1 : previous.version + 1,
        value,
        lease,
      },
      this.events.length,
    );
    this.record(version, previous);
    return { kv: version.kv, prevKv: previous };
  }

  /** Tombstones every live key in range, in key order; returns the values deleted. */
  deleteRange(range: KeyRange): KeyValue[] {
    assert(!this.committed, "delete after commit");
    const main = this.beginRevision + 1;
    // Collect first: tombstoning while scanning would mutate what the scan walks.
    const deleted = [...this.store.scan(range, main)];
    for (const previous of deleted) {
      this.record(tombstoneVersion(previous.key, main, this.events.length), previous);
    }
    return deleted;
  }

  commit(): CommittedTxn {
    assert(!this.committed, "commit twice");
    this.committed = true;
    if (this.events.length === 0) {
      return { revision: this.beginRevision, writes: [], events: [] };
    }
    const revision = this.beginRevision + 1;
    this.store.advanceRevision(revision);
    this.writes.push(kvMetaWrite("revision", revision));
    return { revision, writes: this.writes, events: this.events };
  }

  private record(version: KeyVersion, previous: KeyValue | null): void {
    this.store.appendVersion(version);
    const row = encodeVersionRow(version);
    this.writes.push({ table: KV_TABLE, key: row.key, value: row.value });
    this.events.push(eventOf(version, previous));
  }
}
