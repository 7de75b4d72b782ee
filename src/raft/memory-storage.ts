// An in-memory Storage: the core's view of the durable log. The node shell
// loads its on-disk log into one at boot and appends after each synced write;
// the simulator uses it as the node's disk. Modeled on etcd's MemoryStorage.

import { assert } from "../util/assert.js";
import { limitBytes } from "./log.js";
import {
  type ConfState,
  type Entry,
  type HardState,
  type LogIndex,
  type Snapshot,
  type Storage,
  StorageCompactedError,
  StorageUnavailableError,
  type Term,
} from "./types.js";

/** applySnapshot was given a snapshot older than the one already held. */
export class StorageSnapshotOutOfDateError extends Error {
  override readonly name = "StorageSnapshotOutOfDateError";
}

export interface MemoryStorageInit {
  readonly confState?: ConfState;
  readonly hardState?: HardState;
}

const EMPTY_CONF_STATE: ConfState = { voters: [], learners: [] };

function dummyEntry(index: LogIndex, term: Term): Entry {
  return { index, term, kind: "normal", data: new Uint8Array(0) };
}

export class MemoryStorage implements Storage {
  private hardState: HardState;
  private confState: ConfState;
  private snapshotValue: Snapshot;
  /**
   * ents[0] is a dummy entry standing for the snapshot (its index and term);
   * ents[i] has log index ents[0].index + i.
   */
  private readonly ents: Entry[];

  constructor(init: MemoryStorageInit = {}) {
    this.hardState = init.hardState ?? { term: 0, vote: 0, commit: 0 };
    this.confState = init.confState ?? EMPTY_CONF_STATE;
    this.snapshotValue = {
      meta: { index: 0, term: 0, confState: this.confState },
      data: new Uint8Array(0),
    };
    this.ents = [dummyEntry(0, 0)];
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.confState };
  }

  setHardState(hardState: HardState): void {
    this.hardState = hardState;
  }

  setConfState(confState: ConfState): void {
    this.confState = confState;
  }

  private get offset(): LogIndex {
    return this.dummy().index;
  }

  private dummy(): Entry {
    const dummy = this.ents[0];
    assert(dummy !== undefined, "memory storage lost its dummy entry");
    return dummy;
  }

  firstIndex(): LogIndex {
    return this.offset + 1;
  }

  lastIndex(): LogIndex {
    return this.offset + this.ents.length - 1;
  }

  term(index: LogIndex): Term {
    if (index < this.offset) {
      throw new StorageCompactedError(`index ${index} compacted (first ${this.firstIndex()})`);
    }
    const entry = this.ents[index - this.offset];
    if (entry === undefined) {
      throw new StorageUnavailableError(`index ${index} beyond last ${this.lastIndex()}`);
    }
    return entry.term;
  }

  entries(lo: LogIndex, hi: LogIndex, maxBytes: number): Entry[] {
    assert(lo <= hi, `entries range [${lo}, ${hi}) inverted`);
    if (lo <= this.offset) {
      throw new StorageCompactedError(`index ${lo} compacted (first ${this.firstIndex()})`);
    }
    if (hi > this.lastIndex() + 1) {
      throw new StorageUnavailableError(`index ${hi - 1} beyond last ${this.lastIndex()}`);
    }
    return limitBytes(this.ents.slice(lo - this.offset, hi - this.offset), maxBytes);
  }

  snapshot(): Snapshot {
    return this.snapshotValue;
  }

  /** Replaces the whole log with a snapshot (the log restarts after it). */
  applySnapshot(snapshot: Snapshot): void {
    if (snapshot.meta.index <= this.snapshotValue.meta.index) {
      throw new StorageSnapshotOutOfDateError(
        `snapshot at ${snapshot.meta.index} is not newer than ${this.snapshotValue.meta.index}`,
      );
    }
    this.snapshotValue = snapshot;
    this.confState = snapshot.meta.confState;
    this.ents.length = 0;
    this.ents.push(dummyEntry(snapshot.meta.index, snapshot.meta.term));
  }

  /**
   * Records a snapshot point: the state after applying everything up to
   * `index` (`data` is whatever the shell wants to ship; cairn ships the
   * state separately and keeps it empty). Compaction is a separate step.
   */
  createSnapshot(index: LogIndex, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snapshotValue.meta.index) {
      throw new StorageSnapshotOutOfDateError(
        `snapshot at ${index} is not newer than ${this.snapshotValue.meta.index}`,
      );
    }
    assert(index <= this.lastIndex(), `snapshot at ${index} beyond last ${this.lastIndex()}`);
    const snapshot: Snapshot = { meta: { index, term: this.term(index), confState }, data };
    this.snapshotValue = snapshot;
    return snapshot;
  }

  /** Discards entries before `index`; the entry at `index` becomes the new dummy. */
  compact(index: LogIndex): void {
    if (index <= this.offset) {
      throw new StorageCompactedError(`index ${index} already compacted`);
    }
    assert(index <= this.lastIndex(), `compact ${index} beyond last ${this.lastIndex()}`);
    const dummy = dummyEntry(index, this.term(index));
    const kept = this.ents.slice(index - this.offset + 1);
    this.ents.length = 0;
    this.ents.push(dummy, ...kept);
  }

  /**
   * Appends entries (consecutive indexes), truncating any existing suffix from
   * the first one: the shell writes exactly what a Ready's `entries` says.
   */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) {
      return;
    }
    for (let i = 1; i < entries.length; i++) {
      const previous = entries[i - 1];
      const entry = entries[i];
      assert(previous !== undefined && entry !== undefined, "entry slot out of range");
      assert(
        entry.index === previous.index + 1,
        `append indexes not consecutive at ${entry.index}`,
      );
      assert(entry.term >= previous.term, `append terms decrease at ${entry.index}`);
    }
    const firstKeptIndex = Math.max(first.index, this.firstIndex());
    const toAppend = entries.slice(firstKeptIndex - first.index);
    const head = toAppend[0];
    if (head === undefined) {
      return; // Everything given is already compacted.
    }
    const keep = head.index - this.offset;
    assert(
      keep <= this.ents.length,
      `append at ${head.index} leaves a gap after ${this.lastIndex()}`,
    );
    const prior = this.ents[keep - 1];
    assert(prior !== undefined && prior.term <= head.term, `append at ${head.index} lowers term`);
    this.ents.length = keep;
    for (const entry of toAppend) {
      this.ents.push(entry);
    }
  }
}
