// The member-wide feed of applied platform changes (RaftNode.onPlatformApplied)
// for the cairn.v1 waits and streams: lock waiters and membership watches
// take the events as they are published; op-log and resource watches pull
// records from the op log and use the feed only to learn how far they may read.
//
// The handoff rule (as the KV WatchHub's): `publishedSequence` (P) is the
// last op-log sequence the feed has published. The state machine may be past
// P (a batch is applied, then written to disk, then published), so a reader
// never reads past P; what lies beyond is certain to be published and to wake
// it. Everything runs on one thread: no publish interleaves with a read.
import type { OpLogRecord, PlatformError, PlatformEvent } from "../../state/index.js";
import { assert } from "../../util/assert.js";
import { CairnError } from "../errors.js";
import { invalid, orThrow, platformError } from "./platform-errors.js";

/** Listeners (lock waits, membership watches) one member holds; past it calls fail. */
export const FEED_LISTENERS_MAX = 20_000;
/** Readers parked until a sequence is published. */
export const FEED_READERS_MAX = 20_000;
/** Records one read takes from the op log (and one stream response carries at most). */
export const FEED_READ_RECORDS_MAX = 256;

export type FeedListener = (events: readonly PlatformEvent[], revision: number) => void;

/** What the feed needs of the member (RaftNode satisfies it). */
export interface FeedNode {
  readonly stateMachine: {
    readonly kv: { readonly revision: number };
    readonly platform: {
      readonly oplog: { readonly lastSequence: number };
      opLogSince(sequence: number, limit: number): readonly OpLogRecord[] | PlatformError;
      opLogSequenceAtRevision(revision: number): number | PlatformError;
    };
  };
  onPlatformApplied(listener: FeedListener): void;
  /** Told when the whole state was swapped for a snapshot's (op-log sequence and revision jump). */
  onStateReplaced(listener: () => void): void;
}

interface ParkedReader {
  readonly sequence: number;
  readonly wake: () => void;
}

export class PlatformFeed {
  private sequence: number;
  private revisionValue: number;
  private readonly listeners = new Set<FeedListener>();
  private readonly replacedHandlers = new Set<() => void>();
  private readonly readers = new Set<ParkedReader>();

  constructor(private readonly node: FeedNode) {
    this.sequence = node.stateMachine.platform.oplog.lastSequence;
    this.revisionValue = node.stateMachine.kv.revision;
    node.onPlatformApplied((events, revision) => this.publish(events, revision));
    node.onStateReplaced(() => this.replaced());
  }

  /** P: the last op-log sequence published to listeners and readers. */
  get publishedSequence(): number {
    return this.sequence;
  }

  /** The store revision after the last published batch (stream headers). */
  get revision(): number {
    return this.revisionValue;
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  get readerCount(): number {
    return this.readers.size;
  }

  /**
   * Adds a listener; returns its removal. Listeners must not throw (they run
   * inside apply). `onReplaced` runs when a snapshot replaced the whole
   * state: the changes in between were never published one by one, so a
   * listener must re-read what it follows.
   */
  listen(listener: FeedListener, onReplaced?: () => void): () => void {
    if (this.listeners.size >= FEED_LISTENERS_MAX) throw new CairnError("TOO_MANY_REQUESTS");
    this.listeners.add(listener);
    if (onReplaced !== undefined) this.replacedHandlers.add(onReplaced);
    return () => {
      this.listeners.delete(listener);
      if (onReplaced !== undefined) this.replacedHandlers.delete(onReplaced);
    };
  }

  /**
   * Op-log records from `next` on, never past P, at most FEED_READ_RECORDS_MAX;
   * waits (until `signal` aborts) while nothing at or after `next` is published.
   * Fails with FAILED_PRECONDITION once retention dropped `next`.
   */
  async read(next: number, signal: AbortSignal): Promise<readonly OpLogRecord[]> {
    assert(Number.isSafeInteger(next) && next >= 1, `op-log read from ${next}`);
    while (next > this.sequence) await this.park(next, signal);
    signal.throwIfAborted();
    const limit = Math.min(FEED_READ_RECORDS_MAX, this.sequence - next + 1);
    const records = orThrow(this.node.stateMachine.platform.opLogSince(next, limit));
    assert(records[0]?.sequence === next, `op-log read from ${next} started elsewhere`);
    assert(records.length <= limit, "op-log read past the published sequence");
    return records;
  }

  /** Checks a client's since_sequence before a watch starts (0 = from now: P + 1). */
  startSequence(since: number): number {
    if (!(Number.isSafeInteger(since) && since >= 0)) {
      throw invalid(`since_sequence must be 0 (from now) or an op-log sequence, got ${since}`);
    }
    if (since === 0 || since > this.sequence) return since === 0 ? this.sequence + 1 : since;
    // Refused the same way a later read would be, but before the stream starts.
    orThrow(this.node.stateMachine.platform.opLogSince(since, 1));
    return since;
  }

  /**
   * The sequence a watch from store revision `revision` starts at: the first
   * record at or after it (later records than P wake the reader when
   * published). Records before it in the op log all have lower revisions; the
   * caller still skips later ones below `revision` (a revision not reached yet).
   */
  startSequenceAtRevision(revision: number): number {
    if (!(Number.isSafeInteger(revision) && revision >= 1)) {
      throw invalid(`start_revision must be 0 (from now) or a store revision, got ${revision}`);
    }
    const sequence = this.node.stateMachine.platform.opLogSequenceAtRevision(revision);
    if (typeof sequence !== "number") throw platformError(sequence);
    return sequence;
  }

  private park(sequence: number, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    if (this.readers.size >= FEED_READERS_MAX) throw new CairnError("TOO_MANY_REQUESTS");
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.readers.delete(reader);
        reject(signal.reason);
      };
      const reader: ParkedReader = {
        sequence,
        wake: () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      this.readers.add(reader);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * A follower installed a snapshot: P jumps to the new state's last op-log
   * sequence (found by jepsen-lite: without this the next applied record
   * tripped the in-order assertion and stopped the member). Readers the jump
   * passes wake and read the records from the op log, which the snapshot
   * carries as far as retention kept them.
   */
  private replaced(): void {
    const next = this.node.stateMachine.platform.oplog.lastSequence;
    assert(
      next >= this.sequence,
      `snapshot moved the op log back from ${this.sequence} to ${next}`,
    );
    this.sequence = next;
    this.revisionValue = Math.max(this.revisionValue, this.node.stateMachine.kv.revision);
    for (const handler of [...this.replacedHandlers]) handler();
    this.wakeReaders();
  }

  private wakeReaders(): void {
    for (const reader of [...this.readers]) {
      if (reader.sequence > this.sequence) continue;
      this.readers.delete(reader);
      reader.wake();
    }
  }

  private publish(events: readonly PlatformEvent[], revision: number): void {
    for (const event of events) {
      // A batch applied before the feed was built, but published after, is already counted.
      if (event.table !== "oplog" || event.record.sequence <= this.sequence) continue;
      assert(event.record.sequence === this.sequence + 1, "op-log records published out of order");
      this.sequence = event.record.sequence;
    }
    this.revisionValue = Math.max(this.revisionValue, revision);
    for (const listener of [...this.listeners]) listener(events, revision);
    this.wakeReaders();
  }
}
