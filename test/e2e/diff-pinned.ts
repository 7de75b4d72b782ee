// Fixed operation sequences for divergences the random differential run has
// found: each stays here as a minimal, deterministic reproduction (run
// against etcd and cairn like the random ones) so it is checked on every run
// and the generator can stop drawing it.
import type { CompactOp, Op, PutOp, RangeOp, TxnOp } from "./diff-ops.js";

export interface PinnedCase {
  readonly name: string;
  readonly ops: readonly Op[];
}

const put = (key: string, value: string): PutOp => ({
  kind: "put",
  key,
  value,
  prevKv: false,
  lease: null,
  ignoreValue: false,
  ignoreLease: false,
});

/**
 * etcd 3.4 accepts a txn that puts a key and, in the same branch, deletes a
 * from-key range (range_end "\0") starting below it: its duplicate-key check
 * takes "\0" literally, as an empty interval. Both ops then apply in order.
 */
const putWithFromKeyDelete: TxnOp = {
  kind: "txn",
  compares: [{ key: "k/f", rangeEnd: null, target: "version", result: 1, number: 0, value: "" }],
  success: [put("k/f", "v2"), { kind: "delete", key: "k/d", rangeEnd: "\0", prevKv: true }],
  failure: [],
};

const range = (key: string, revision: number): RangeOp => ({
  kind: "range",
  key,
  rangeEnd: null,
  limit: 0,
  revision,
  sortOrder: 0,
  sortTarget: 0,
  keysOnly: false,
  countOnly: false,
  serializable: false,
  minModRevision: 0,
  maxCreateRevision: 0,
});
const rangeInTxn = (key: string, revision: number): TxnOp => ({
  kind: "txn",
  compares: [],
  success: [range(key, revision)],
  failure: [],
});
const compact = (revision: number, physical = false): CompactOp => ({
  kind: "compact",
  revision,
  physical,
});

/**
 * Negative revisions, as etcd 3.4 answers them. A plain Range below 0 reads
 * the current revision. Compact at or below the compact revision is
 * Compacted, and a store never compacted has -1: Compact(0) succeeds once,
 * and a negative one never does. A range inside a txn is checked against
 * that same -1/compact revision, so -2 is Compacted before any compaction and
 * -1 after one.
 */
const negativeRevisions: readonly Op[] = [
  put("k/a", "1"),
  range("k/a", -1),
  range("k/a", -7),
  compact(-1),
  compact(-3, true),
  rangeInTxn("k/a", -1),
  rangeInTxn("k/a", -2),
  compact(0, true),
  compact(0),
  rangeInTxn("k/a", -1),
  rangeInTxn("k/a", 0),
  range("k/a", -1),
  put("k/a", "2"),
  put("k/b", "1"),
  compact(3),
  compact(-1),
  range("k/a", -2),
  rangeInTxn("k/a", -1),
  rangeInTxn("k/a", 3),
  rangeInTxn("k/a", 2),
];

export const PINNED: readonly PinnedCase[] = [
  {
    name: "negative revisions: Range, Compact and a range in a Txn, before and after Compact(0)",
    ops: negativeRevisions,
  },
  {
    name: "txn: put k and delete from-key below k in one branch (etcd accepts)",
    ops: [put("k/d", "1"), put("k/f", "v1"), putWithFromKeyDelete],
  },
];
