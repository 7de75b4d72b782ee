// Every stored version of every key in global revision order: the source for
// watch catch-up (eventsSince), hashKv and compaction, which all walk history
// by revision rather than by key.
import { assert } from "../../util/assert.js";
import type { KeyVersion } from "./key-value.js";
import { compareRevisions } from "./revision.js";

function compareVersions(a: KeyVersion, b: KeyVersion): number {
  return compareRevisions(
    { main: a.kv.modRevision, sub: a.sub },
    { main: b.kv.modRevision, sub: b.sub },
  );
}

export class HistoryLog {
  /** Invariant: strictly increasing by (main, sub). */
  private entries: KeyVersion[] = [];

  get size(): number {
    return this.entries.length;
  }

  get all(): readonly KeyVersion[] {
    return this.entries;
  }

  append(version: KeyVersion): void {
    const last = this.entries[this.entries.length - 1];
    assert(
      last === undefined || compareVersions(last, version) < 0,
      "history must grow in revision order",
    );
    this.entries.push(version);
  }

  /** Load path: LevelDB yields rows in revision order, so this is almost always an append. */
  restore(version: KeyVersion): void {
    const last = this.entries[this.entries.length - 1];
    if (last === undefined || compareVersions(last, version) < 0) {
      this.entries.push(version);
      return;
    }
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareVersions(this.entries[mid] as KeyVersion, version) < 0) lo = mid + 1;
      else hi = mid;
    }
    const existing = this.entries[lo];
    assert(existing === undefined || compareVersions(existing, version) !== 0, "duplicate row");
    this.entries.splice(lo, 0, version);
  }

  /** Index of the first version whose main revision is >= main. */
  firstIndexFrom(main: number): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.entries[mid] as KeyVersion).kv.modRevision < main) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Removes compacted versions; they all lie at or below `revision`. */
  removeCompacted(dropped: ReadonlySet<KeyVersion>, revision: number): void {
    const end = this.firstIndexFrom(revision + 1);
    const kept = this.entries.slice(0, end).filter((version) => !dropped.has(version));
    assert(
      kept.length === end - dropped.size,
      "compacted versions must lie at or below the compact revision",
    );
    this.entries = kept.concat(this.entries.slice(end));
  }
}
