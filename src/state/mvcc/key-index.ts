// The history of one key: every stored version (puts and tombstones) in
// revision order, the role etcd's keyIndex generations play. A version's
// generation is implicit: it starts at a put whose version is 1 and ends at
// the next tombstone, so reads and compaction only need the ordered list.
import { assert } from "../../util/assert.js";
import type { KeyValue, KeyVersion } from "./key-value.js";
import { compareRevisions, type Revision } from "./revision.js";

function revisionOf(version: KeyVersion): Revision {
  return { main: version.kv.modRevision, sub: version.sub };
}

export class KeyIndex {
  /** Invariant: strictly increasing by (main, sub); never empty while indexed by the store. */
  private versions: KeyVersion[] = [];

  constructor(readonly key: string) {}

  get isEmpty(): boolean {
    return this.versions.length === 0;
  }

  get all(): readonly KeyVersion[] {
    return this.versions;
  }

  latest(): KeyVersion | undefined {
    return this.versions[this.versions.length - 1];
  }

  /** The newest version with main revision <= revision (a tombstone included). */
  newestAt(revision: number): KeyVersion | undefined {
    const at = this.lastIndexAtOrBelow(revision);
    return at < 0 ? undefined : this.versions[at];
  }

  /** The key's value as of revision, or undefined if it did not exist then. */
  liveAt(revision: number): KeyValue | undefined {
    const version = this.newestAt(revision);
    return version === undefined || version.tombstone ? undefined : version.kv;
  }

  /** The version stored just before `version`, if history still holds it. */
  previousOf(version: KeyVersion): KeyVersion | undefined {
    const at = this.indexOf(revisionOf(version));
    assert(at >= 0, `version ${version.kv.modRevision}.${version.sub} is not in the history`);
    return at === 0 ? undefined : this.versions[at - 1];
  }

  /** Apply path: a new change is always newer than everything stored. */
  append(version: KeyVersion): void {
    assert(version.key === this.key, "version appended to another key's history");
    const latest = this.latest();
    assert(
      latest === undefined || compareRevisions(revisionOf(latest), revisionOf(version)) < 0,
      `key history must grow in revision order (${version.kv.modRevision}.${version.sub})`,
    );
    this.add(version);
  }

  /** Load path: rows may arrive in any order. Returns true if `version` is now the latest. */
  restore(version: KeyVersion): boolean {
    assert(version.key === this.key, "version restored into another key's history");
    const revision = revisionOf(version);
    const latest = this.latest();
    if (latest === undefined || compareRevisions(revisionOf(latest), revision) < 0) {
      this.add(version);
      return true;
    }
    const at = this.lowerBound(revision);
    const existing = this.versions[at];
    assert(
      existing === undefined || compareRevisions(revisionOf(existing), revision) !== 0,
      `duplicate kv row ${revision.main}.${revision.sub}`,
    );
    this.versions.splice(at, 0, version);
    return false;
  }

  /**
   * etcd compaction of one key: versions at or below `revision` are dropped
   * except the newest of them, which is dropped too if it is a tombstone.
   * Returns the dropped versions, oldest first.
   */
  compact(revision: number): KeyVersion[] {
    const newest = this.lastIndexAtOrBelow(revision);
    if (newest < 0) {
      return [];
    }
    const keepFrom = this.versions[newest]?.tombstone === true ? newest + 1 : newest;
    const dropped = this.versions.slice(0, keepFrom);
    this.versions = this.versions.slice(keepFrom);
    assert(
      this.versions.every((v) => !v.tombstone || v.kv.modRevision > revision),
      "compaction left a tombstone at or below the compact revision",
    );
    return dropped;
  }

  /** Index of the last version with main <= revision, -1 if none. */
  private lastIndexAtOrBelow(revision: number): number {
    let lo = 0;
    let hi = this.versions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.versions[mid] as KeyVersion).kv.modRevision <= revision) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo - 1;
  }

  /** Index of the first version >= revision. */
  private lowerBound(revision: Revision): number {
    let lo = 0;
    let hi = this.versions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareRevisions(revisionOf(this.versions[mid] as KeyVersion), revision) < 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  private indexOf(revision: Revision): number {
    const at = this.lowerBound(revision);
    const found = this.versions[at];
    return found !== undefined && compareRevisions(revisionOf(found), revision) === 0 ? at : -1;
  }

  /**
   * Appends at the end. A key's first version gets an exact-size array: V8
   * gives an empty array's first push room for about 17 elements, ~140 bytes per key
   * that most keys (written once, or compacted to one version) never use.
   */
  private add(version: KeyVersion): void {
    if (this.versions.length === 0) this.versions = [version];
    else this.versions.push(version);
  }
}
