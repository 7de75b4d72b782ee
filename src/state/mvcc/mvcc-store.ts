// The multi-version keyspace: per-key histories, the global history in
// revision order, the current and compact revisions, and the kv/kv-meta rows
// that persist them. Pure: mutations (WriteTxn, compaction) go through the
// internal methods below and return the writes the shell persists.
import { Packr } from "msgpackr";
import { assert } from "../../util/assert.js";
import { type KeyRange, keyBytes, keyString } from "../key-range.js";
import { SortedKeys } from "../sorted-keys.js";
import type { TableWrite } from "../table-write.js";
import { HistoryLog } from "./history-log.js";
import { KeyIndex } from "./key-index.js";
import { decodeVersionRow, type KeyValue, type KeyVersion } from "./key-value.js";

/** kv: 12-byte revision key (see revision.ts) → msgpack row (see key-value.ts). */
export const KV_TABLE = "kv";
/** kv-meta: "revision" → current revision, "compact" → compact revision (msgpack numbers). */
export const KV_META_TABLE = "kv-meta";

export type KvMetaName = "revision" | "compact";
const metaPackr = new Packr({ useRecords: false, moreTypes: false });

export function kvMetaWrite(name: KvMetaName, value: number): TableWrite {
  return { table: KV_META_TABLE, key: keyBytes(name), value: metaPackr.pack(value) };
}

/** What reads need: the revision they default to and the oldest readable one. */
export interface KvReadView {
  /** The revision a read without an explicit revision sees; also header.revision. */
  readonly revision: number;
  /** Reads below this revision fail with Compacted. 0 = never compacted. */
  readonly compactRevision: number;
  /**
   * etcd's compactMainRev: -1 until the first compaction (which may be to 0),
   * then compactRevision. Txn ranges and Compact check against it.
   */
  readonly firstRevision: number;
  get(key: string, revision?: number): KeyValue | undefined;
  /** Live keys in range as of revision, in byte order. */
  scan(range: KeyRange, revision: number): Generator<KeyValue>;
}

/** How a loaded row changed the key's newest live value (drives lease attachment on boot). */
export interface LatestChange {
  readonly key: string;
  readonly before: KeyValue | undefined;
  readonly after: KeyValue | undefined;
}

export class MvccStore implements KvReadView {
  private readonly index = new Map<string, KeyIndex>();
  private readonly order = new SortedKeys();
  private readonly log = new HistoryLog();
  /** etcd starts an empty store at revision 1. */
  private currentRevision = 1;
  private compactRevisionValue = 0;
  private compactedEver = false;

  get revision(): number {
    return this.currentRevision;
  }

  get compactRevision(): number {
    return this.compactRevisionValue;
  }

  get firstRevision(): number {
    return this.compactedEver ? this.compactRevisionValue : -1;
  }

  /** Every stored version (tombstones included) in revision order. */
  get history(): readonly KeyVersion[] {
    return this.log.all;
  }

  /** Index of the first stored version whose main revision is >= main. */
  historyIndexFrom(main: number): number {
    return this.log.firstIndexFrom(main);
  }

  keyIndex(key: string): KeyIndex | undefined {
    return this.index.get(key);
  }

  get(key: string, revision = this.currentRevision): KeyValue | undefined {
    return this.index.get(key)?.liveAt(revision);
  }

  *scan(range: KeyRange, revision: number): Generator<KeyValue> {
    if (range.end === null) {
      const single = this.get(range.start, revision);
      if (single !== undefined) {
        yield single;
      }
      return;
    }
    for (const key of this.order.between(range.start, range.end)) {
      const history = this.index.get(key);
      assert(history !== undefined, "sorted key index and key histories disagree");
      const kv = history.liveAt(revision);
      if (kv !== undefined) {
        yield kv;
      }
    }
  }

  /** @internal WriteTxn: records one change of the in-progress revision. */
  appendVersion(version: KeyVersion): void {
    assert(
      version.kv.modRevision === this.currentRevision + 1,
      "changes belong to the next revision",
    );
    let history = this.index.get(version.key);
    if (history === undefined) {
      history = new KeyIndex(version.key);
      this.index.set(version.key, history);
      this.order.insert(version.key);
    }
    history.append(version);
    this.log.append(version);
  }

  /** @internal WriteTxn.commit: the in-progress revision becomes current. */
  advanceRevision(revision: number): void {
    assert(revision === this.currentRevision + 1, "revisions advance by exactly one per write");
    this.currentRevision = revision;
  }

  /** @internal compaction: drops superseded history at or below revision; returns it in revision order. */
  compactHistory(revision: number): KeyVersion[] {
    assert(revision > this.firstRevision, "compaction must move forward");
    assert(revision <= this.currentRevision, "cannot compact the future");
    const dropped = new Set<KeyVersion>();
    const emptied = new Set<string>();
    const end = this.log.firstIndexFrom(revision + 1);
    const touched = new Set<string>();
    for (let i = 0; i < end; i++) touched.add((this.log.all[i] as KeyVersion).key);
    for (const key of touched) {
      const history = this.index.get(key);
      assert(history !== undefined, `history of ${key} missing during compaction`);
      for (const version of history.compact(revision)) dropped.add(version);
      if (history.isEmpty) emptied.add(key);
    }
    const inOrder = this.log.all.slice(0, end).filter((version) => dropped.has(version));
    this.log.removeCompacted(dropped, revision);
    for (const key of emptied) this.index.delete(key);
    this.order.removeMany(emptied);
    this.compactRevisionValue = revision;
    this.compactedEver = true;
    return inOrder;
  }

  /** Restores one persisted row at boot; rows may arrive in any order. */
  loadRow(table: string, key: Uint8Array, value: Uint8Array): LatestChange | null {
    if (table === KV_META_TABLE) {
      this.loadMeta(keyString(key), value);
      return null;
    }
    assert(table === KV_TABLE, `MvccStore cannot load table ${table}`);
    const version = decodeVersionRow(key, value);
    let history = this.index.get(version.key);
    if (history === undefined) {
      history = new KeyIndex(version.key);
      this.index.set(version.key, history);
      this.order.insert(version.key);
    }
    const latest = history.latest();
    const before = latest === undefined || latest.tombstone ? undefined : latest.kv;
    const isLatest = history.restore(version);
    this.log.restore(version);
    if (!isLatest) {
      return null;
    }
    return { key: version.key, before, after: version.tombstone ? undefined : version.kv };
  }

  private loadMeta(name: string, value: Uint8Array): void {
    const decoded: unknown = metaPackr.unpack(value);
    assert(Number.isSafeInteger(decoded), `kv-meta ${name} must be an integer`);
    const revision = decoded as number;
    if (name === "revision") {
      assert(revision >= 1, `stored revision ${revision} < 1`);
      this.currentRevision = revision;
      return;
    }
    assert(name === "compact", `unknown kv-meta key ${name}`);
    // 0 is a compaction too (etcd accepts Compact(0) once): it is stored like any other.
    assert(revision >= 0, `stored compact revision ${revision} < 0`);
    this.compactRevisionValue = revision;
    this.compactedEver = true;
  }
}
