// The tail of the log that is not yet known to be durable. Entries live here
// from the moment they are appended until the shell confirms (via advance) that
// they reached stable storage; they may still be truncated by a newer leader.

import { assert } from "../util/assert.js";
import type { Entry, LogIndex, Term } from "./types.js";

/**
 * entries[i] has log position i + offset. Entries in [offset, offsetInProgress)
 * were handed to the shell in a Ready and are being persisted; entries from
 * offsetInProgress on have not been handed out yet.
 * Invariant: offset <= offsetInProgress <= offset + entries.length.
 */
export class UnstableLog {
  entries: Entry[] = [];
  offset: LogIndex;
  offsetInProgress: LogIndex;

  constructor(offset: LogIndex) {
    assert(offset >= 1, `unstable offset ${offset} < 1`);
    this.offset = offset;
    this.offsetInProgress = offset;
  }

  /** Last index held here, or undefined when empty. */
  maybeLastIndex(): LogIndex | undefined {
    return this.entries.length === 0 ? undefined : this.offset + this.entries.length - 1;
  }

  maybeTerm(index: LogIndex): Term | undefined {
    if (index < this.offset) {
      return undefined;
    }
    return this.entries[index - this.offset]?.term;
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
