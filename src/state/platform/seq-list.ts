// An ascending list of integers that grows at the back and shrinks at the
// front (op-log sequences per target/actor/action): O(1) append and pop, with
// the dead prefix dropped once it outweighs the live part.
import { assert } from "../../util/assert.js";
import { insertSorted, partitionPoint } from "./codec.js";

const COMPACT_AFTER = 1024;

export class SeqList {
  private items: number[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  at(index: number): number {
    const value = this.items[this.head + index];
    assert(value !== undefined, `seq list index ${index} out of range`);
    return value;
  }

  push(value: number): void {
    const last = this.items[this.items.length - 1];
    assert(this.length === 0 || (last as number) < value, "seq list must grow in order");
    this.items.push(value);
  }

  /** Load path: rows may arrive in any order. */
  insert(value: number): void {
    this.compact(true);
    insertSorted(this.items, value, (a, b) => a - b);
  }

  /** Removes the front value, which must be `value`. */
  shift(value: number): void {
    assert(this.items[this.head] === value, `seq list front is not ${value}`);
    this.head++;
    this.compact(false);
  }

  /** Position (from the live front) of the first value >= value. */
  lowerBound(value: number): number {
    // Dead entries before head are smaller than every live one.
    return Math.max(0, partitionPoint(this.items, (item) => item < value) - this.head);
  }

  private compact(force: boolean): void {
    if (this.head === 0) return;
    if (force || (this.head >= COMPACT_AFTER && this.head * 2 >= this.items.length)) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
