// Fixed operation sequences for divergences the random differential run has
// found: each stays here as a minimal, deterministic reproduction (run
// against etcd and cairn like the random ones) so it is checked on every run
// and the generator can stop drawing it.
import type { Op, PutOp, TxnOp } from "./diff-ops.js";

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

export const PINNED: readonly PinnedCase[] = [
  {
    name: "txn: put k and delete from-key below k in one branch (etcd accepts)",
    ops: [put("k/d", "1"), put("k/f", "v1"), putWithFromKeyDelete],
  },
];
