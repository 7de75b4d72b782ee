// The tail of the log that is not yet known to be durable. Entries live here
// from the moment they are appended until the shell confirms (via advance) that
// they reached stable storage; they may still be truncated by a newer leader.

import { assert } from "../util/assert.js";
import type { Entry, LogIndex, Snapshot, Term } from "./types.js";

/**
 * entries[i] has log position i + offset. Entries in [offset, offsetInProgress)
 * were handed to the shell in a Ready and are being persisted; entries from
 * offsetInProgress on have not been handed out yet.
 * Invariant: offset <= offsetInProgress <= offset + entries.length.
 * A snapshot received from the leader waits here until the shell installs it;
 * while it does, entries[0] (if any) directly follows it: offset = index + 1.
 */
export class UnstableLog {
  entries: Entry[] = [];
  offset: LogIndex;
  offsetInProgress: LogIndex;
  snapshot: Snapshot | null = null;
  /** The snapshot was handed to the shell in a Ready and is being installed. */
  snapshotInProgress = false;

  constructor(offset: LogIndex) {
    assert(offset >= 1, `unstable offset ${offset} < 1`);
    this.offset = offset;
    this.offsetInProgress = offset;
  }

  /** First log index after a pending snapshot, or undefined without one. */
  maybeFirstIndex(): LogIndex | undefined {
    return this.snapshot === null ? undefined : this.snapshot.meta.index + 1;
  }

  /** Last index held here (entries, else a pending snapshot), or undefined when empty. */
  maybeLastIndex(): LogIndex | undefined {
    if (this.entries.length > 0) {
      return this.offset + this.entries.length - 1;
    }
    return this.snapshot === null ? undefined : this.snapshot.meta.index;
  }

  maybeTerm(index: LogIndex): Term | undefined {
    if (index < this.offset) {
      const meta = this.snapshot?.meta;
      return meta !== undefined && meta.index === index ? meta.term : undefined;
    }
    return this.entries[index - this.offset]?.term;
  }

  /** Replaces everything with a snapshot from the leader; the log restarts after it. */
  restore(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    this.snapshotInProgress = false;
    this.entries = [];
    this.offset = snapshot.meta.index + 1;
    this.offsetInProgress = this.offset;
  }

  /** The snapshot to hand to the shell, unless there is none or it is already handed out. */
  nextSnapshot(): Snapshot | null {
    return this.snapshotInProgress ? null : this.snapshot;
  }

  /** The shell installed the snapshot at `index` (a newer one may have replaced it meanwhile). */
  stableSnapTo(index: LogIndex): void {
    if (this.snapshot !== null && this.snapshot.meta.index === index) {
      this.snapshot = null;
      this.snapshotInProgress = false;
    }
  }

  /** Entries not yet handed to the shell. */
  nextEntries(): readonly Entry[] {
    const inProgress = this.offsetInProgress - this.offset;
    if (inProgress === this.entries.length) {
      return [];
    }
    return this.entries.slice(inProgress);
  }

  /** Marks everything currently held as handed out in a Ready. */
  acceptInProgress(): void {
    this.offsetInProgress = this.offset + this.entries.length;
    this.snapshotInProgress = this.snapshot !== null;
  }

  /**
   * The shell persisted everything up to (index, term). Ignored when the entry
   * at `index` has since been replaced by one of another term: that write is
   * obsolete and the replacement will be persisted by a later Ready.
   */
  stableTo(index: LogIndex, term: Term): void {
    const ourTerm = this.maybeTerm(index);
    if (ourTerm === undefined || ourTerm !== term) {
      return;
    }
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
    this.offsetInProgress = Math.max(this.offsetInProgress, this.offset);
    this.checkInvariants();
  }

  /** Appends `entries`, first truncating anything at or after their first index. */
  truncateAndAppend(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) {
      return;
    }
    const fromIndex = first.index;
    if (fromIndex === this.offset + this.entries.length) {
      this.entries.push(...entries);
    } else if (fromIndex <= this.offset) {
      // Replaces the whole unstable tail (and, once persisted, part of storage).
      this.entries = [...entries];
      this.offset = fromIndex;
      this.offsetInProgress = this.offset;
    } else {
      this.entries = this.entries.slice(0, fromIndex - this.offset);
      this.entries.push(...entries);
      // Entries from fromIndex on must be handed out again, even if the old ones
      // at those positions were already in progress.
      this.offsetInProgress = Math.min(this.offsetInProgress, fromIndex);
    }
    this.checkInvariants();
  }

  /** Entries in [lo, hi); the caller guarantees offset <= lo <= hi <= last + 1. */
  slice(lo: LogIndex, hi: LogIndex): Entry[] {
    assert(lo >= this.offset && lo <= hi, `unstable slice [${lo}, ${hi}) below ${this.offset}`);
    assert(hi <= this.offset + this.entries.length, `unstable slice [${lo}, ${hi}) out of range`);
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }

  private checkInvariants(): void {
    assert(this.offset <= this.offsetInProgress, "unstable offset > offsetInProgress");
    assert(
      this.offsetInProgress <= this.offset + this.entries.length,
      "unstable offsetInProgress beyond entries",
    );
  }
}
