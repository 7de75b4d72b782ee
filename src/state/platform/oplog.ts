// The operation log: one immutable record per applied platform command (and
// per lock or member a lease revoke released), appended in the same apply as
// the change it describes. Sequences are contiguous from 1 and never reused;
// records are only ever dropped from the front by retention (count or age,
// judged by the command's clock inside apply, so every member drops the same).
// Indexed by target, actor and action; time is clamped to never go backwards,
// so a time range is a contiguous run of sequences.
import { assert } from "../../util/assert.js";
import type { RowVisitor, TableWrite } from "../table-write.js";
import { asNumber, asString, decodeRow, encodeRow, metaWrite, readU64, u64Key } from "./codec.js";
import { SeqList } from "./seq-list.js";

/** oplog: sequence (8-byte big-endian) → msgpack OpLogRecord. */
export const OPLOG_TABLE = "oplog";
export const OPLOG_META = "oplog";

export const OPLOG_PAGE_MAX = 500;
/** Records retention drops per apply; a lowered limit catches up over later applies. */
export const OPLOG_PRUNE_BATCH = 256;
export const RETENTION_LIMITS = {
  maxRecords: { min: 100, max: 10_000_000 },
  maxAgeMs: { min: 60_000, max: 10 * 365 * 86_400_000 },
} as const;
export const DEFAULT_RETENTION: OpLogRetention = {
  maxRecords: 100_000,
  maxAgeMs: 30 * 86_400_000,
};

export interface OpLogRetention {
  readonly maxRecords: number;
  readonly maxAgeMs: number;
}

/** Flat field → text summaries of the target before and after the command. */
export type Summary = Readonly<Record<string, string>>;

export interface OpLogRecord {
  readonly sequence: number;
  /** The revision of the change; for a refused or no-op command, the revision it was judged at. */
  readonly revision: number;
  /** command.at, clamped to be >= the previous record's time. */
  readonly atMs: number;
  /** Username; "system" for lease-driven releases; "" for anonymous. */
  readonly actor: string;
  /** "resource.update", "lock.acquire", … */
  readonly action: string;
  /** "resource/srv-12", "user/alice", "lock/deploy", "member/web/n1", "oplog/retention". */
  readonly target: string;
  /** "ok", a distinguishing success ("queued", "busy", "lease-revoked") or the error code. */
  readonly outcome: string;
  readonly before: Summary;
  readonly after: Summary;
}

export type OpLogDraft = Omit<OpLogRecord, "sequence" | "revision" | "atMs">;

export interface OpLogQuery {
  /** "" = any. */
  readonly target: string;
  readonly actor: string;
  readonly action: string;
  /** Inclusive lower bound on atMs; 0 = none. */
  readonly fromMs: number;
  /** Exclusive upper bound on atMs; 0 = none. */
  readonly toMs: number;
  /** Cursor: return records after it (asc) or before it (desc); 0 = from the start/end. */
  readonly cursor: number;
  readonly order: "asc" | "desc";
  readonly limit: number;
}

export interface OpLogPage {
  readonly records: readonly OpLogRecord[];
  /** Sequence to continue from (the last one returned), or 0 when nothing is left. */
  readonly nextCursor: number;
  /** Oldest and newest retained sequences (0 when empty). */
  readonly firstSequence: number;
  readonly lastSequence: number;
}

type IndexName = "target" | "actor" | "action";
const INDEXED: readonly IndexName[] = ["target", "actor", "action"];

export class OpLog {
  private readonly records = new Map<number, OpLogRecord>();
  /** Oldest retained sequence; lastSequence + 1 when empty. */
  private first = 1;
  private last = 0;
  private lastAtMs = 0;
  private retentionValue: OpLogRetention = DEFAULT_RETENTION;
  private readonly indexes: Record<IndexName, Map<string, SeqList>> = {
    target: new Map(),
    actor: new Map(),
    action: new Map(),
  };

  get size(): number {
    return this.records.size;
  }

  get firstSequence(): number {
    return this.records.size === 0 ? 0 : this.first;
  }

  get lastSequence(): number {
    return this.last;
  }

  get retention(): OpLogRetention {
    return this.retentionValue;
  }

  get(sequence: number): OpLogRecord | undefined {
    return this.records.get(sequence);
  }

  append(
    draft: OpLogDraft,
    revision: number,
    atMs: number,
  ): { record: OpLogRecord; writes: TableWrite[] } {
    assert(Number.isSafeInteger(atMs), "op-log time must be an integer");
    const record: OpLogRecord = {
      sequence: this.last + 1,
      revision,
      atMs: Math.max(atMs, this.lastAtMs),
      actor: draft.actor,
      action: draft.action,
      target: draft.target,
      outcome: draft.outcome,
      before: draft.before,
      after: draft.after,
    };
    const row = { table: OPLOG_TABLE, key: u64Key(record.sequence), value: encodeRow(record) };
    this.add(record, false);
    this.last = record.sequence;
    this.lastAtMs = record.atMs;
    return { record, writes: [row, this.metaRow()] };
  }

  /** Drops up to OPLOG_PRUNE_BATCH records past the count limit or older than nowMs − maxAgeMs. */
  prune(nowMs: number): TableWrite[] {
    const writes: TableWrite[] = [];
    const { maxRecords, maxAgeMs } = this.retentionValue;
    while (writes.length < OPLOG_PRUNE_BATCH && this.records.size > 0) {
      const oldest = this.records.get(this.first);
      assert(oldest !== undefined, `op-log record ${this.first} missing`);
      if (this.records.size <= maxRecords && oldest.atMs >= nowMs - maxAgeMs) break;
      this.records.delete(oldest.sequence);
      for (const name of INDEXED) this.unindex(name, oldest);
      this.first++;
      writes.push({ table: OPLOG_TABLE, key: u64Key(oldest.sequence), value: null });
    }
    return writes;
  }

  setRetention(retention: OpLogRetention): TableWrite {
    this.retentionValue = { maxRecords: retention.maxRecords, maxAgeMs: retention.maxAgeMs };
    return this.metaRow();
  }

  query(query: OpLogQuery): OpLogPage {
    assert(Number.isSafeInteger(query.limit) && query.limit >= 1, "op-log page needs a limit");
    const limit = Math.min(query.limit, OPLOG_PAGE_MAX);
    const [low, high] = this.sequenceBounds(query);
    const records: OpLogRecord[] = [];
    let nextCursor = 0;
    for (const sequence of this.candidates(query, low, high)) {
      const record = this.records.get(sequence);
      assert(record !== undefined, `op-log index names missing record ${sequence}`);
      if (!matchesQuery(record, query)) continue;
      if (records.length === limit) {
        nextCursor = (records[records.length - 1] as OpLogRecord).sequence;
        break;
      }
      records.push(record);
    }
    return { records, nextCursor, firstSequence: this.firstSequence, lastSequence: this.last };
  }

  /**
   * Every row exactly as persisted (see state-digest.ts). The meta row exists
   * once a record was appended: every platform command appends one.
   */
  visitRows(visit: RowVisitor): void {
    for (const record of this.records.values()) {
      visit(OPLOG_TABLE, u64Key(record.sequence), encodeRow(record));
    }
    if (this.last > 0) {
      const meta = this.metaRow();
      visit(meta.table, meta.key, meta.value as Uint8Array);
    }
  }

  loadRow(key: Uint8Array, value: Uint8Array): void {
    const sequence = readU64(key);
    const row = decodeRow(value, `op-log ${sequence}`);
    assert(
      asNumber(row.sequence, "oplog.sequence") === sequence,
      `op-log row ${sequence} mismatch`,
    );
    asString(row.action, "oplog.action");
    const record = row as unknown as OpLogRecord;
    assert(!this.records.has(sequence), `duplicate op-log row ${sequence}`);
    this.add(record, true);
    this.first = this.records.size === 1 ? sequence : Math.min(this.first, sequence);
  }

  loadMeta(value: Uint8Array): void {
    const row = decodeRow(value, "op-log meta");
    this.last = asNumber(row.lastSequence, "oplog meta lastSequence");
    this.lastAtMs = asNumber(row.lastAtMs, "oplog meta lastAtMs");
    this.retentionValue = {
      maxRecords: asNumber(row.maxRecords, "oplog meta maxRecords"),
      maxAgeMs: asNumber(row.maxAgeMs, "oplog meta maxAgeMs"),
    };
    if (this.records.size === 0) this.first = this.last + 1;
  }

  private metaRow(): TableWrite {
    return metaWrite(OPLOG_META, {
      lastSequence: this.last,
      lastAtMs: this.lastAtMs,
      maxRecords: this.retentionValue.maxRecords,
      maxAgeMs: this.retentionValue.maxAgeMs,
    });
  }

  private add(record: OpLogRecord, loading: boolean): void {
    this.records.set(record.sequence, record);
    for (const name of INDEXED) {
      const value = record[name];
      let list = this.indexes[name].get(value);
      if (list === undefined) {
        list = new SeqList();
        this.indexes[name].set(value, list);
      }
      if (loading) list.insert(record.sequence);
      else list.push(record.sequence);
    }
  }

  private unindex(name: IndexName, record: OpLogRecord): void {
    const list = this.indexes[name].get(record[name]);
    assert(list !== undefined, `op-log ${name} index lost ${record.sequence}`);
    list.shift(record.sequence);
    if (list.length === 0) this.indexes[name].delete(record[name]);
  }

  /** [low, high] sequences allowed by the time range and the cursor (low > high = none). */
  private sequenceBounds(query: OpLogQuery): [number, number] {
    let low = this.first;
    let high = this.last;
    // atMs never decreases with the sequence, so a time bound is a sequence bound.
    if (query.fromMs > 0) low = this.firstAtOrAfter(query.fromMs);
    if (query.toMs > 0) high = this.firstAtOrAfter(query.toMs) - 1;
    if (query.cursor > 0 && query.order === "asc") low = Math.max(low, query.cursor + 1);
    if (query.cursor > 0 && query.order === "desc") high = Math.min(high, query.cursor - 1);
    return [low, high];
  }

  /** The first retained sequence whose time is >= atMs (last + 1 if none). */
  private firstAtOrAfter(atMs: number): number {
    return this.firstWhere((record) => record.atMs >= atMs);
  }

  /** The first retained sequence whose revision is >= revision (last + 1 if none). */
  firstAtOrAfterRevision(revision: number): number {
    return this.firstWhere((record) => record.revision >= revision);
  }

  /** Binary search: `holds` must be false, then true, along the sequence (atMs and revision are). */
  private firstWhere(holds: (record: OpLogRecord) => boolean): number {
    let lo = this.first;
    let hi = this.last + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const record = this.records.get(mid);
      assert(record !== undefined, `op-log record ${mid} missing`);
      if (holds(record)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Sequences in [low, high] in query order, from the narrowest index the query names. */
  private *candidates(query: OpLogQuery, low: number, high: number): Generator<number> {
    if (low > high) return;
    let narrowest: SeqList | null = null;
    for (const name of INDEXED) {
      if (query[name] === "") continue;
      const list = this.indexes[name].get(query[name]);
      if (list === undefined) return;
      if (narrowest === null || list.length < narrowest.length) narrowest = list;
    }
    if (narrowest === null) {
      if (query.order === "asc") for (let s = low; s <= high; s++) yield s;
      else for (let s = high; s >= low; s--) yield s;
      return;
    }
    const start = narrowest.lowerBound(low);
    const end = narrowest.lowerBound(high + 1);
    if (query.order === "asc") for (let i = start; i < end; i++) yield narrowest.at(i);
    else for (let i = end - 1; i >= start; i--) yield narrowest.at(i);
  }
}

function matchesQuery(record: OpLogRecord, query: OpLogQuery): boolean {
  return INDEXED.every((name) => query[name] === "" || record[name] === query[name]);
}

/** The empty summary, shared so records without one encode alike. */
export const NO_SUMMARY: Summary = {};
