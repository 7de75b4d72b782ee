// Platform locks: named, lease-bound, fair (FIFO) mutexes in their own table.
// The holder's fencing token is the revision at which it became the holder:
// it only grows for a lock name (revisions never repeat), even across the
// lock's row being deleted and recreated, so no per-name counter is needed.
// A lease is in a lock's queue at most once; a revoked lease gives up every
// hold and place it has (see onLeaseRevoked in apply-locks.ts).
//
// etcd v3 Lock (v3lockpb) is separate: its locks are KV keys `<name>/<lease>`
// whose create revision is the token. The two never share names or state; a
// resource write can be fenced by either (commands.ts Fence).
import { assert } from "../../util/assert.js";
import type { RowVisitor, TableWrite } from "../table-write.js";
import { asNumber, asString, decodeRow, encodeRow, readText, textKey } from "./codec.js";

/** platform-lock: name (UTF-8) → msgpack PlatformLock. A row exists while the lock is held. */
export const LOCK_TABLE = "platform-lock";
/** Waiters per lock; past it Acquire fails with failed-precondition. */
export const LOCK_WAITERS_MAX = 1024;

export interface LockHolder {
  readonly leaseId: number;
  readonly owner: string;
  readonly token: number;
  readonly acquiredAtMs: number;
}

export interface LockWaiter {
  readonly leaseId: number;
  readonly owner: string;
  readonly enqueuedAtMs: number;
}

export interface PlatformLock {
  readonly name: string;
  readonly holder: LockHolder;
  /** In arrival order: the first is the next holder. */
  readonly waiters: readonly LockWaiter[];
  readonly modRevision: number;
}

export interface LockEntrant {
  readonly leaseId: number;
  readonly owner: string;
}

/** Where a lease stands on a lock: holding, waiting at a 1-based position, or absent. */
export type LockStanding =
  | { readonly kind: "holder"; readonly token: number }
  | { readonly kind: "waiter"; readonly position: number }
  | { readonly kind: "absent" };

export interface LockChange {
  readonly lock: PlatformLock | null;
  readonly write: TableWrite;
}

export class LockTable {
  private readonly locks = new Map<string, PlatformLock>();
  /** lease → names of the locks it holds or waits for. */
  private readonly byLease = new Map<number, Set<string>>();

  get size(): number {
    return this.locks.size;
  }

  get(name: string): PlatformLock | undefined {
    return this.locks.get(name);
  }

  /** Every held lock, by name. */
  list(): PlatformLock[] {
    return [...this.locks.keys()].sort().map((name) => this.locks.get(name) as PlatformLock);
  }

  standing(name: string, leaseId: number): LockStanding {
    const lock = this.locks.get(name);
    if (lock === undefined) return { kind: "absent" };
    if (lock.holder.leaseId === leaseId) return { kind: "holder", token: lock.holder.token };
    const index = lock.waiters.findIndex((waiter) => waiter.leaseId === leaseId);
    return index < 0 ? { kind: "absent" } : { kind: "waiter", position: index + 1 };
  }

  /** Lock names the lease is in, sorted: revoke releases them in this order on every member. */
  namesOfLease(leaseId: number): string[] {
    return [...(this.byLease.get(leaseId) ?? [])].sort();
  }

  /** Takes a free lock (the token is `revision`) or queues behind its holder. */
  enter(name: string, entrant: LockEntrant, revision: number, atMs: number): LockChange {
    assert(this.standing(name, entrant.leaseId).kind === "absent", "lease already in this lock");
    const lock = this.locks.get(name);
    const next: PlatformLock =
      lock === undefined
        ? {
            name,
            holder: { ...entrant, token: revision, acquiredAtMs: atMs },
            waiters: [],
            modRevision: revision,
          }
        : {
            ...lock,
            waiters: [...lock.waiters, { ...entrant, enqueuedAtMs: atMs }],
            modRevision: revision,
          };
    assert(next.waiters.length <= LOCK_WAITERS_MAX, `lock ${name} queue over its bound`);
    this.link(entrant.leaseId, name);
    return { lock: next, write: this.store(next) };
  }

  /**
   * Removes the lease from the lock: a holder hands the lock to the first
   * waiter (new token = `revision`), a waiter just leaves the queue.
   */
  leave(name: string, leaseId: number, revision: number, atMs: number): LockChange {
    const lock = this.locks.get(name);
    assert(lock !== undefined, `leave of free lock ${name}`);
    this.unlink(leaseId, name);
    if (lock.holder.leaseId !== leaseId) {
      const waiters = lock.waiters.filter((waiter) => waiter.leaseId !== leaseId);
      assert(waiters.length === lock.waiters.length - 1, `lease ${leaseId} not queued on ${name}`);
      const next = { ...lock, waiters, modRevision: revision };
      return { lock: next, write: this.store(next) };
    }
    const [first, ...rest] = lock.waiters;
    if (first === undefined) {
      this.locks.delete(name);
      return { lock: null, write: { table: LOCK_TABLE, key: textKey(name), value: null } };
    }
    const holder = {
      leaseId: first.leaseId,
      owner: first.owner,
      token: revision,
      acquiredAtMs: atMs,
    };
    assert(holder.token > lock.holder.token, `lock ${name} token must grow`);
    const next = { name, holder, waiters: rest, modRevision: revision };
    return { lock: next, write: this.store(next) };
  }

  /** Every row exactly as persisted (see state-digest.ts). */
  visitRows(visit: RowVisitor): void {
    for (const lock of this.locks.values()) visit(LOCK_TABLE, textKey(lock.name), encodeRow(lock));
  }

  loadRow(key: Uint8Array, value: Uint8Array): void {
    const name = readText(key);
    const row = decodeRow(value, `lock ${name}`);
    assert(asString(row.name, "lock.name") === name, `lock row ${name} key mismatch`);
    asNumber(row.modRevision, "lock.modRevision");
    const lock = row as unknown as PlatformLock;
    assert(Array.isArray(lock.waiters), `lock ${name} waiters`);
    this.locks.set(name, lock);
    for (const leaseId of [lock.holder.leaseId, ...lock.waiters.map((w) => w.leaseId)]) {
      this.link(leaseId, name);
    }
  }

  private store(lock: PlatformLock): TableWrite {
    const value = encodeRow(lock);
    this.locks.set(lock.name, lock);
    return { table: LOCK_TABLE, key: textKey(lock.name), value };
  }

  private link(leaseId: number, name: string): void {
    let names = this.byLease.get(leaseId);
    if (names === undefined) {
      names = new Set();
      this.byLease.set(leaseId, names);
    }
    names.add(name);
  }

  private unlink(leaseId: number, name: string): void {
    const names = this.byLease.get(leaseId);
    assert(names?.delete(name) === true, `lease ${leaseId} was not in lock ${name}`);
    if (names.size === 0) this.byLease.delete(leaseId);
  }
}
