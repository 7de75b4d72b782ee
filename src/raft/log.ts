// The node's Raft log: the stable prefix in Storage (written by the shell) plus
// the unstable tail held in memory, with the commit/applying/applied cursors.
// Invariant: applied <= applying <= committed <= lastIndex.

import { assert } from "../util/assert.js";
import { UnstableLog } from "./log-unstable.js";
import {
  type Entry,
  entrySizeBytes,
  type LogIndex,
  type Snapshot,
  type Storage,
  StorageCompactedError,
  StorageUnavailableError,
  type Term,
} from "./types.js";

export class RaftLog {
  readonly storage: Storage;
  readonly unstable: UnstableLog;
  /** Highest index known to be committed. Never decreases. */
  committed: LogIndex;
  /** Highest index handed to the shell for applying (in a Ready). */
  applying: LogIndex;
  /** Highest index the shell confirmed applied (via advance). */
  applied: LogIndex;

  constructor(storage: Storage) {
    const firstIndex = storage.firstIndex();
    const lastIndex = storage.lastIndex();
    assert(firstIndex >= 1 && lastIndex >= firstIndex - 1, "storage index range is inverted");
    this.storage = storage;
    this.unstable = new UnstableLog(lastIndex + 1);
    // Everything up to the snapshot index is committed and applied by definition.
    this.committed = firstIndex - 1;
    this.applying = firstIndex - 1;
    this.applied = firstIndex - 1;
  }

  firstIndex(): LogIndex {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): LogIndex {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Last index whose entry is durable: everything below the unstable tail. */
  stableLastIndex(): LogIndex {
    return this.unstable.offset - 1;
  }

  /** Term of the entry at `index`, or undefined if compacted away or beyond the log. */
  term(index: LogIndex): Term | undefined {
    const unstableTerm = this.unstable.maybeTerm(index);
    if (unstableTerm !== undefined) {
      return unstableTerm;
    }
    if (index < this.firstIndex() - 1 || index > this.lastIndex()) {
      return undefined;
    }
    try {
      return this.storage.term(index);
    } catch (error) {
      if (error instanceof StorageCompactedError || error instanceof StorageUnavailableError) {
        return undefined;
      }
      throw error;
    }
  }

  lastTerm(): Term {
    const term = this.term(this.lastIndex());
    assert(term !== undefined, `no term for last index ${this.lastIndex()}`);
    return term;
  }

  matchTerm(index: LogIndex, term: Term): boolean {
    const ourTerm = this.term(index);
    return ourTerm !== undefined && ourTerm === term;
  }

  /** §5.4.1: is a log ending at (lastIndex, lastTerm) at least as up-to-date as ours? */
  isUpToDate(lastIndex: LogIndex, lastTerm: Term): boolean {
    const ourLastTerm = this.lastTerm();
    return lastTerm > ourLastTerm || (lastTerm === ourLastTerm && lastIndex >= this.lastIndex());
  }

  /** Index of the first entry that is missing or has a different term; 0 if none. */
  findConflict(entries: readonly Entry[]): LogIndex {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) {
        return entry.index;
      }
    }
    return 0;
  }

  /**
   * The largest (index, term) at or below `index` whose term is <= `term`: the
   * best guess at where our log could match a log that has `term` at `index`.
   * Term 0 means "unknown" (compacted).
   */
  findConflictByTerm(index: LogIndex, term: Term): { index: LogIndex; term: Term } {
    for (let i = index; i > 0; i--) {
      const ourTerm = this.term(i);
      if (ourTerm === undefined) {
        return { index: i, term: 0 };
      }
      if (ourTerm <= term) {
        return { index: i, term: ourTerm };
      }
    }
    return { index: 0, term: 0 };
  }

  /**
   * Follower side of AppendEntries: if our log has (prevIndex, prevTerm), append
   * `entries` (truncating a conflicting suffix) and commit up to
   * min(commit, last new index). Returns the last new index, or undefined on mismatch.
   */
  maybeAppend(
    prevIndex: LogIndex,
    prevTerm: Term,
    commit: LogIndex,
    entries: readonly Entry[],
  ): LogIndex | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) {
      return undefined;
    }
    const lastNewIndex = prevIndex + entries.length;
    const conflictIndex = this.findConflict(entries);
    if (conflictIndex !== 0) {
      assert(
        conflictIndex > this.committed,
        `entry ${conflictIndex} conflicts with committed entry (committed ${this.committed})`,
      );
      this.append(entries.slice(conflictIndex - (prevIndex + 1)));
    }
    this.commitTo(Math.min(commit, lastNewIndex));
    return lastNewIndex;
  }

  /** Appends entries (first one may truncate the tail); returns the new last index. */
  append(entries: readonly Entry[]): LogIndex {
    const first = entries[0];
    if (first === undefined) {
      return this.lastIndex();
    }
    assert(first.index - 1 >= this.committed, `append after ${first.index - 1} < committed`);
    assert(first.index <= this.lastIndex() + 1, `append at ${first.index} leaves a gap`);
    this.unstable.truncateAndAppend(entries);
    return this.lastIndex();
  }

  commitTo(index: LogIndex): void {
    if (index <= this.committed) {
      return; // Commit never decreases; stale commit indexes are normal.
    }
    assert(
      index <= this.lastIndex(),
      `commit ${index} beyond last index ${this.lastIndex()}: log lost or corrupted`,
    );
    this.committed = index;
  }

  /** Leader: commit `index` if it is ahead and its entry is from `term` (Figure 8). */
  maybeCommit(index: LogIndex, term: Term): boolean {
    if (index > this.committed && this.matchTerm(index, term)) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  stableTo(index: LogIndex, term: Term): void {
    const offsetBefore = this.unstable.offset;
    this.unstable.stableTo(index, term);
    if (this.unstable.offset !== offsetBefore) {
      // From now on these entries are read from storage: it must hold them.
      assert(
        this.storage.lastIndex() >= index && this.storage.term(index) === term,
        `advance() for entries up to ${index} before Storage holds them`,
      );
    }
  }

  /**
   * Follower: replaces the log with the leader's snapshot, which holds
   * committed state by definition. The caller checked it is ahead of our commit.
   */
  restore(snapshot: Snapshot): void {
    assert(
      snapshot.meta.index > this.committed,
      `snapshot ${snapshot.meta.index} is not ahead of commit ${this.committed}`,
    );
    this.unstable.restore(snapshot);
    this.committed = snapshot.meta.index;
  }

  /** True while a received snapshot is waiting to be (or being) installed. */
  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== null;
  }

  nextUnstableSnapshot(): Snapshot | null {
    return this.unstable.nextSnapshot();
  }

  /** The shell installed the snapshot: everything up to it is applied. */
  snapshotInstalled(snapshot: Snapshot): void {
    const index = snapshot.meta.index;
    this.unstable.stableSnapTo(index);
    if (index > this.applied) {
      this.applied = index;
      this.applying = Math.max(this.applying, index);
    }
  }

  nextUnstableEntries(): readonly Entry[] {
    return this.unstable.nextEntries();
  }

  hasNextUnstableEntries(): boolean {
    return this.unstable.offsetInProgress < this.unstable.offset + this.unstable.entries.length;
  }

  acceptUnstable(): void {
    this.unstable.acceptInProgress();
  }

  /** Highest index that may be handed out for applying: committed and durable. */
  maxApplicableIndex(): LogIndex {
    return Math.min(this.committed, this.stableLastIndex());
  }

  hasNextCommittedEntries(): boolean {
    // Entries after a pending snapshot are applied only once it is installed.
    return !this.hasPendingSnapshot() && this.applying < this.maxApplicableIndex();
  }

  /** Committed, durable entries not yet handed out for applying, capped by bytes. */
  nextCommittedEntries(maxBytes: number): Entry[] {
    const lo = this.applying + 1;
    const hi = this.maxApplicableIndex() + 1;
    if (lo >= hi || this.hasPendingSnapshot()) {
      return [];
    }
    return this.slice(lo, hi, maxBytes);
  }

  acceptApplying(index: LogIndex): void {
    assert(index <= this.committed, `applying ${index} beyond committed ${this.committed}`);
    assert(index >= this.applying, `applying ${index} went backwards from ${this.applying}`);
    this.applying = index;
  }

  appliedTo(index: LogIndex): void {
    assert(index <= this.committed, `applied ${index} beyond committed ${this.committed}`);
    assert(index >= this.applied, `applied ${index} went backwards from ${this.applied}`);
    this.applied = index;
    this.applying = Math.max(this.applying, index);
  }

  /** Entries from `index` to the end of the log, capped by bytes (at least one). */
  entriesFrom(index: LogIndex, maxBytes: number): Entry[] {
    if (index > this.lastIndex()) {
      return [];
    }
    return this.slice(index, this.lastIndex() + 1, maxBytes);
  }

  /**
   * Entries in [lo, hi) from storage and/or the unstable tail; always at least
   * one entry when lo < hi, then as many as fit in maxBytes.
   */
  slice(lo: LogIndex, hi: LogIndex, maxBytes: number): Entry[] {
    assert(lo >= this.firstIndex(), `slice lo ${lo} below first index ${this.firstIndex()}`);
    assert(lo <= hi && hi <= this.lastIndex() + 1, `slice [${lo}, ${hi}) out of range`);
    if (lo === hi) {
      return [];
    }
    const offset = this.unstable.offset;
    let result: Entry[] = [];
    if (lo < offset) {
      const storageHi = Math.min(hi, offset);
      result = this.storage.entries(lo, storageHi, maxBytes);
      assert(result.length > 0, `storage returned no entries for [${lo}, ${storageHi})`);
      if (result.length < storageHi - lo) {
        return result; // Hit the byte limit inside storage.
      }
    }
    if (hi > offset) {
      result = result.concat(this.unstable.slice(Math.max(lo, offset), hi));
    }
    return limitBytes(result, maxBytes);
  }
}

/** Keeps the first entry and then as many as fit within maxBytes in total. */
export function limitBytes(entries: Entry[], maxBytes: number): Entry[] {
  let total = 0;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    assert(entry !== undefined, "entry slot out of range");
    total += entrySizeBytes(entry);
    if (i > 0 && total > maxBytes) {
      return entries.slice(0, i);
    }
  }
  return entries;
}
