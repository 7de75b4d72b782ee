// Builds the one synced batch that persists a Ready: new log entries, deletes
// for the old tail they replace, and the hard state. Pure, so the index
// arithmetic and the Raft invariants it asserts can be tested without a disk.

import type { Entry, HardState, LogIndex } from "../raft/types.js";
import { assert } from "../util/assert.js";
import { type BatchOp, delOp, putOp } from "./batch-op.js";
import { logKey, metaKey } from "./keys.js";
import { encodeLogEntry } from "./log-record.js";
import { encodeHardState } from "./meta-record.js";

/** What is durable before the batch. Invariant: firstIndex - 1 <= lastIndex. */
export interface DurableLog {
  readonly firstIndex: LogIndex;
  readonly lastIndex: LogIndex;
  readonly hardState: HardState;
}

export interface RaftBatch {
  readonly ops: BatchOp[];
  /** Encoded bytes of the keys and values put (deletes not counted). */
  readonly bytes: number;
  /** The log's last index once the batch is durable. */
  readonly lastIndex: LogIndex;
}

/**
 * Entries must be contiguous and start within [firstIndex, lastIndex + 1].
 * Starting at i <= lastIndex replaces the tail: every index after the new
 * entries, up to the old lastIndex, is deleted in the same batch.
 */
export function planRaftBatch(
  durable: DurableLog,
  entries: readonly Entry[],
  hardState: HardState | null,
): RaftBatch {
  const ops: BatchOp[] = [];
  const termMax = hardState?.term ?? durable.hardState.term;
  let bytes = appendEntries(ops, durable, entries, termMax);
  const first = entries[0];
  const lastIndex = first === undefined ? durable.lastIndex : first.index + entries.length - 1;
  if (hardState !== null) {
    checkHardState(durable.hardState, hardState);
    const key = metaKey("hard-state");
    const value = encodeHardState(key, hardState);
    ops.push(putOp(key, value));
    bytes += key.byteLength + value.byteLength;
  }
  // load() refuses a commit beyond the log, so never write one.
  const commit = (hardState ?? durable.hardState).commit;
  assert(commit <= lastIndex, `commit ${commit} beyond last log index ${lastIndex}`);
  return { ops, bytes, lastIndex };
}

function appendEntries(
  ops: BatchOp[],
  durable: DurableLog,
  entries: readonly Entry[],
  termMax: number,
): number {
  const first = entries[0];
  if (first === undefined) {
    return 0;
  }
  assert(
    first.index >= durable.firstIndex && first.index <= durable.lastIndex + 1,
    `append at ${first.index} outside [${durable.firstIndex}, ${durable.lastIndex + 1}]`,
  );
  // Raft only ever replaces uncommitted entries.
  assert(
    first.index > durable.lastIndex || first.index > durable.hardState.commit,
    `append at ${first.index} would overwrite entries committed through ${durable.hardState.commit}`,
  );
  let bytes = 0;
  let previousTerm = 0;
  for (let offset = 0; offset < entries.length; offset++) {
    const entry = entries[offset]!;
    assert(entry.index === first.index + offset, `entries not contiguous at ${entry.index}`);
    assert(entry.term >= previousTerm, `entry ${entry.index} has a lower term than the one before`);
    assert(entry.term <= termMax, `entry ${entry.index} term ${entry.term} > hard state term`);
    previousTerm = entry.term;
    const key = logKey(entry.index);
    const value = encodeLogEntry(key, entry);
    ops.push(putOp(key, value));
    bytes += key.byteLength + value.byteLength;
  }
  const newLastIndex = first.index + entries.length - 1;
  for (let index = newLastIndex + 1; index <= durable.lastIndex; index++) {
    ops.push(delOp(logKey(index)));
  }
  return bytes;
}

/** Raft never lowers its term or commit, nor changes its vote within a term. */
function checkHardState(previous: HardState, next: HardState): void {
  assert(next.term >= previous.term, `hard state term went back: ${previous.term} -> ${next.term}`);
  assert(next.commit >= previous.commit, `commit went back: ${previous.commit} -> ${next.commit}`);
  if (next.term === previous.term && previous.vote !== 0) {
    assert(next.vote === previous.vote, `vote changed within term ${next.term}`);
  }
}
