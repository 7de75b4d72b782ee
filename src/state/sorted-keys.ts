// An ordered set of latin1 key strings (byte order), kept as a sorted array:
// O(log n) lookup of a range start, O(n) insert/delete by memmove, which is
// cheap at the key counts one coordination cluster holds (≤ a few 100k).
import { assert } from "../util/assert.js";

export class SortedKeys {
  private keys: string[] = [];

  get size(): number {
    return this.keys.length;
  }

  /** Index of the first key >= key. */
  lowerBound(key: string): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.keys[mid] as string) < key) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  insert(key: string): void {
    const at = this.lowerBound(key);
    if (this.keys[at] === key) {
      return;
    }
    this.keys.splice(at, 0, key);
    assert(at === 0 || (this.keys[at - 1] as string) < key, "sorted keys out of order");
  }

  remove(key: string): void {
    const at = this.lowerBound(key);
    if (this.keys[at] === key) {
      this.keys.splice(at, 1);
    }
  }

  /** Removes many keys in one pass (compaction can drop thousands at once). */
  removeMany(keys: ReadonlySet<string>): void {
    if (keys.size === 0) {
      return;
    }
    const before = this.keys.length;
    const kept = this.keys.filter((key) => !keys.has(key));
    assert(kept.length === before - keys.size, "removeMany given keys that are not in the set");
    this.keys = kept;
  }

  /** Keys in [start, end) in order; end "" means unbounded. Stops after limit keys when limit > 0. */
  *between(start: string, end: string, limit = 0): Generator<string> {
    let yielded = 0;
    for (let i = this.lowerBound(start); i < this.keys.length; i++) {
      const key = this.keys[i] as string;
      if (end !== "" && key >= end) {
        return;
      }
      yield key;
      yielded++;
      if (limit > 0 && yielded >= limit) {
        return;
      }
    }
  }
}
