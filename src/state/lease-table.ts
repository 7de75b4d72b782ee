// Leases: id, granted TTL, absolute expiry (proposer's clock + TTL, renewed
// through Raft, so a new leader inherits the remaining time instead of
// resetting it) and the keys attached to each lease. Pure: mutations return
// the lease-table row to persist; expiry is only reported (expired()), the
// leader proposes the revokes.
import { createHash } from "node:crypto";
import { Packr } from "msgpackr";
import { assert } from "../util/assert.js";
import { keyBytes } from "./key-range.js";
import type { RowVisitor, TableWrite } from "./table-write.js";

/** lease: 8-byte big-endian lease id → msgpack [grantedTtlSeconds, expiresAtMs]. */
export const LEASE_TABLE = "lease";

export interface LeaseRecord {
  readonly id: number;
  readonly grantedTtlSeconds: number;
  /** Proposer's wall clock at the last grant/renew + TTL, in ms. */
  readonly expiresAtMs: number;
}

/** LeaseTimeToLiveResponse: ttlSeconds -1 (and no keys) for an unknown lease, as etcd. */
export interface LeaseTimeToLive {
  readonly id: number;
  readonly ttlSeconds: number;
  readonly grantedTtlSeconds: number;
  readonly keys: readonly Uint8Array[];
}

/** Ids stay below 2^53 so they survive JS numbers and the int64-as-number codec. */
export const LEASE_ID_MAX = Number.MAX_SAFE_INTEGER;

const TWO_TO_32 = 2 ** 32;
const packr = new Packr({ useRecords: false, moreTypes: false });

function leaseRowValue(record: LeaseRecord): Uint8Array {
  return packr.pack([record.grantedTtlSeconds, record.expiresAtMs]);
}

export function encodeLeaseKey(id: number): Uint8Array {
  assert(Number.isSafeInteger(id) && id >= 1, `lease id must be a positive safe integer: ${id}`);
  const bytes = Buffer.alloc(8);
  bytes.writeUInt32BE(Math.floor(id / TWO_TO_32), 0);
  bytes.writeUInt32BE(id % TWO_TO_32, 4);
  return bytes;
}

function decodeLeaseKey(bytes: Uint8Array): number {
  assert(bytes.byteLength === 8, `lease key must be 8 bytes, got ${bytes.byteLength}`);
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const id = view.readUInt32BE(0) * TWO_TO_32 + view.readUInt32BE(4);
  assert(Number.isSafeInteger(id) && id >= 1, `stored lease id ${id} is invalid`);
  return id;
}

/**
 * A deterministic candidate id for a grant that asked for id 0: a hash of the
 * command id, the store revision and the attempt number, folded into 53 bits.
 * The caller probes attempts until it finds a free id.
 */
export function candidateLeaseId(commandId: number, revision: number, attempt: number): number {
  const digest = createHash("sha256")
    .update(`lease\0${commandId}\0${revision}\0${attempt}`)
    .digest();
  const id = digest.readUIntBE(0, 6) * 32 + ((digest[6] as number) & 31);
  return id === 0 ? 1 : id;
}

function decodeLeaseRow(key: Uint8Array, value: Uint8Array): LeaseRecord {
  const id = decodeLeaseKey(key);
  const raw: unknown = packr.unpack(value);
  assert(Array.isArray(raw) && raw.length === 2, `lease row ${id} is not a 2-field array`);
  const [grantedTtlSeconds, expiresAtMs] = raw as [number, number];
  assert(Number.isSafeInteger(grantedTtlSeconds), `lease row ${id} has a bad TTL`);
  assert(Number.isSafeInteger(expiresAtMs), `lease row ${id} has a bad expiry`);
  return { id, grantedTtlSeconds, expiresAtMs };
}

/**
 * A stored lease row with its expiry moved to nowMs + its granted TTL, as if
 * kept alive at nowMs (`cairn snapshot restore`: see restore-rows.ts for why).
 */
export function refreshLeaseRow(key: Uint8Array, value: Uint8Array, nowMs: number): Uint8Array {
  const record = decodeLeaseRow(key, value);
  const expiresAtMs = nowMs + record.grantedTtlSeconds * 1000;
  assert(Number.isSafeInteger(expiresAtMs), `lease ${record.id} expiry out of range`);
  return packr.pack([record.grantedTtlSeconds, expiresAtMs]);
}

export class LeaseTable {
  private readonly records = new Map<number, LeaseRecord>();
  /** lease id → attached keys (latin1). Kept apart from records so boot can load rows in any order. */
  private readonly attached = new Map<number, Set<string>>();

  get size(): number {
    return this.records.size;
  }

  get(id: number): LeaseRecord | undefined {
    return this.records.get(id);
  }

  has(id: number): boolean {
    return this.records.has(id);
  }

  /** The first free candidate id (see candidateLeaseId); bounded by the number of leases. */
  pickId(commandId: number, revision: number): number {
    for (let attempt = 0; attempt <= this.records.size; attempt++) {
      const id = candidateLeaseId(commandId, revision, attempt);
      if (!this.records.has(id)) {
        return id;
      }
    }
    // size+1 distinct attempts cannot all hit size ids unless the hash repeats itself.
    assert(false, `lease id probe exhausted after ${this.records.size + 1} attempts`);
  }

  grant(id: number, ttlSeconds: number, nowMs: number): TableWrite {
    assert(!this.records.has(id), `lease ${id} already exists`);
    assert(Number.isSafeInteger(ttlSeconds) && ttlSeconds >= 1, `bad lease TTL ${ttlSeconds}`);
    return this.store({
      id,
      grantedTtlSeconds: ttlSeconds,
      expiresAtMs: nowMs + ttlSeconds * 1000,
    });
  }

  /** Keep-alive: the lease lives a full TTL from the proposer's clock. */
  renew(id: number, nowMs: number): TableWrite {
    const record = this.records.get(id);
    assert(record !== undefined, `renew of unknown lease ${id}`);
    return this.store({ ...record, expiresAtMs: nowMs + record.grantedTtlSeconds * 1000 });
  }

  /** Forgets the lease; its keys must already be deleted (and so detached). */
  revoke(id: number): TableWrite {
    assert(this.records.delete(id), `revoke of unknown lease ${id}`);
    assert((this.attached.get(id)?.size ?? 0) === 0, `lease ${id} revoked with keys attached`);
    this.attached.delete(id);
    return { table: LEASE_TABLE, key: encodeLeaseKey(id), value: null };
  }

  attach(id: number, key: string): void {
    let keys = this.attached.get(id);
    if (keys === undefined) {
      keys = new Set();
      this.attached.set(id, keys);
    }
    keys.add(key);
  }

  detach(id: number, key: string): void {
    const keys = this.attached.get(id);
    assert(keys?.delete(key) === true, `key was not attached to lease ${id}`);
    if (keys.size === 0) {
      this.attached.delete(id);
    }
  }

  /** Attached keys in byte order: revoke deletes them in this order on every member. */
  attachedKeys(id: number): string[] {
    return [...(this.attached.get(id) ?? [])].sort();
  }

  timeToLive(id: number, nowMs: number): LeaseTimeToLive {
    const record = this.records.get(id);
    if (record === undefined) {
      return { id, ttlSeconds: -1, grantedTtlSeconds: 0, keys: [] };
    }
    // etcd truncates the remaining duration to whole seconds; an overdue lease reads 0.
    const ttlSeconds = Math.max(0, Math.floor((record.expiresAtMs - nowMs) / 1000));
    const keys = this.attachedKeys(id).map(keyBytes);
    return { id, ttlSeconds, grantedTtlSeconds: record.grantedTtlSeconds, keys };
  }

  /** Every lease id, ascending. */
  leases(): number[] {
    return [...this.records.keys()].sort((a, b) => a - b);
  }

  /**
   * Up to `max` leases whose expiry is at or before nowMs, soonest expiry
   * first (ties by id), for the leader to propose revokes. O(leases) per call.
   */
  expired(nowMs: number, max: number): number[] {
    assert(Number.isSafeInteger(max) && max >= 1, "expired() needs a positive bound");
    const due: LeaseRecord[] = [];
    for (const record of this.records.values()) {
      if (record.expiresAtMs <= nowMs) due.push(record);
    }
    due.sort((a, b) => a.expiresAtMs - b.expiresAtMs || a.id - b.id);
    return due.slice(0, max).map((record) => record.id);
  }

  loadRow(key: Uint8Array, value: Uint8Array): void {
    const record = decodeLeaseRow(key, value);
    assert(!this.records.has(record.id), `duplicate lease row ${record.id}`);
    this.records.set(record.id, record);
  }

  /** Every row exactly as persisted (see state-digest.ts). */
  visitRows(visit: RowVisitor): void {
    for (const record of this.records.values()) {
      visit(LEASE_TABLE, encodeLeaseKey(record.id), leaseRowValue(record));
    }
  }

  /** Validates and encodes before touching the map, so a failed assertion leaves no half-applied lease. */
  private store(record: LeaseRecord): TableWrite {
    assert(Number.isSafeInteger(record.expiresAtMs), `lease ${record.id} expiry out of range`);
    const key = encodeLeaseKey(record.id);
    const value = leaseRowValue(record);
    this.records.set(record.id, record);
    return { table: LEASE_TABLE, key, value };
  }
}
