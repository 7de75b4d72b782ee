// One watcher: what it asked for, where it stands in the revision sequence
// (nextRevision), whether the hub feeds it live or it reads history, and the
// bookkeeping of its responses still queued on its stream.
import type { WatchEvent } from "../../state/index.js";
import { inRange } from "../../state/index.js";
import type { WatchSpec } from "./watch-request.js";

/**
 * new      → created, not yet attached to the hub.
 * synced   → in the hub's index; every matching event >= nextRevision arrives live.
 * unsynced → out of the index; its stream reads history from nextRevision.
 * canceled → gone (client cancel, compaction, stream closed); never delivered to again.
 */
export type WatcherState = "new" | "synced" | "unsynced" | "canceled";

/** What the hub needs from the stream that owns a watcher. */
export interface WatcherOwner {
  /**
   * Live events of one applied batch (all >= the watcher's next revision).
   * False when the watcher's buffer has no room: the hub then unsyncs it.
   */
  offerLive(watcher: Watcher, events: readonly WatchEvent[], revision: number): boolean;
  /** The hub took the watcher out of the live index; the stream must catch it up. */
  onUnsynced(watcher: Watcher): void;
}

export class Watcher {
  state: WatcherState = "new";
  /**
   * Every matching event below this revision has been queued (or was not asked
   * for); none at or above it has. For a synced watcher the hub may lag in
   * bumping it: the effective value is max(nextRevision, hub revision + 1).
   */
  nextRevision = 0;
  /** Events and estimated bytes of this watcher's responses still queued on the stream. */
  queuedEvents = 0;
  queuedBytes = 0;
  /** Responses of any kind (created, events, progress) still queued on the stream. */
  queuedResponses = 0;
  /** etcd elides a periodic progress notification if events went out since the last tick. */
  progressDue = true;

  constructor(
    readonly id: number,
    readonly spec: WatchSpec,
    readonly owner: WatcherOwner,
  ) {}

  get watchesOneKey(): boolean {
    return this.spec.range.end === null;
  }

  matches(key: string): boolean {
    return inRange(this.spec.range, key);
  }

  /** The events the client wants to see: NOPUT/NODELETE filters applied. */
  select(events: readonly WatchEvent[]): readonly WatchEvent[] {
    if (!this.spec.noPut && !this.spec.noDelete) return events;
    return events.filter((event) =>
      event.type === "put" ? !this.spec.noPut : !this.spec.noDelete,
    );
  }
}
