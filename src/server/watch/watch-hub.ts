// The member-wide watch hub: fans each applied batch out to synced watchers by
// key, and hands unsynced watchers their history. It alone keeps the watch
// revision, so live delivery and catch-up agree on where one ends and the other begins.
//
// The handoff rule. `revision` (call it P) is the revision of the last batch
// published here. The state machine may already be past P: the node applies a
// batch, then awaits its disk write, then publishes — events in between are
// "in flight". Therefore:
//  1. A synced watcher has been given every matching event <= P; an event is
//     delivered only if its revision >= max(nextRevision, P + 1), so a batch
//     never reaches a watcher twice and never reaches one that asked for later.
//  2. History reads are cut at P: events above P are left to the live path,
//     which is certain to publish them.
//  3. A watcher joins the synced index exactly when its nextRevision > P.
// Everything runs on one thread, so no publish can interleave with a read.
import type { EventsSinceResult, HistoryQuery, WatchEvent } from "../../state/index.js";
import { keyString } from "../../state/index.js";
import { assert, assertNever } from "../../util/assert.js";
import type { Watcher } from "./watcher.js";

/** The slice of the state machine the hub reads (StateMachine satisfies it). */
export interface WatchHistorySource {
  readonly kv: { readonly revision: number; readonly compactRevision: number };
  eventsSince(query: HistoryQuery): EventsSinceResult;
}

/** How much one history read may return (soft: a revision is never split). */
export interface CatchUpBudget {
  readonly eventsMax: number;
  readonly bytesMax: number;
}

export type CatchUpResult =
  | {
      readonly kind: "events";
      /** Matching events in revision order, before the NOPUT/NODELETE filters. */
      readonly events: readonly WatchEvent[];
      /** The watcher has now seen everything up to this revision (header.revision). */
      readonly revision: number;
      /** True when the watcher reached the hub's revision and is live again. */
      readonly synced: boolean;
    }
  | { readonly kind: "compacted"; readonly compactRevision: number };

/** Fixed part of an event's size estimate: revisions, version, lease, framing. */
const EVENT_OVERHEAD_BYTES = 48;

/** A rough size of an event in memory and on the wire, for buffer bounds. */
export function eventBytes(event: WatchEvent): number {
  const kv = event.kv;
  const prev = event.prevKv;
  const prevBytes = prev === null ? 0 : prev.key.byteLength + prev.value.byteLength;
  return EVENT_OVERHEAD_BYTES + kv.key.byteLength + kv.value.byteLength + prevBytes;
}

/**
 * The longest prefix of `events` that stays at or below `revisionMax` and,
 * past its first revision, within `bytesMax`; cut only between revisions.
 * Returns the prefix length and the first revision left out (or `nextRevision`).
 */
export function cutAtRevision(
  events: readonly WatchEvent[],
  limits: {
    readonly revisionMax: number;
    readonly bytesMax: number;
    readonly nextRevision: number;
  },
): { readonly count: number; readonly nextRevision: number } {
  let bytes = 0;
  let firstRevision = 0;
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as WatchEvent;
    const revision = event.kv.modRevision;
    const previous = events[i - 1];
    const boundary = previous === undefined || previous.kv.modRevision !== revision;
    if (revision > limits.revisionMax) return { count: i, nextRevision: revision };
    if (boundary && firstRevision !== 0 && bytes > limits.bytesMax) {
      return { count: i, nextRevision: revision };
    }
    if (firstRevision === 0) firstRevision = revision;
    bytes += eventBytes(event);
  }
  return { count: events.length, nextRevision: limits.nextRevision };
}

export class WatchHub {
  private revisionValue: number;
  /** Synced single-key watchers by key (latin1), the common case (locks, elections). */
  private readonly keyWatchers = new Map<string, Set<Watcher>>();
  /** Synced range and prefix watchers, scanned per event. */
  private readonly rangeWatchers = new Set<Watcher>();
  private syncedTotal = 0;

  constructor(private readonly source: WatchHistorySource) {
    this.revisionValue = source.kv.revision;
  }

  /** The revision of the last published batch: what watch headers report. */
  get revision(): number {
    return this.revisionValue;
  }

  get compactRevision(): number {
    return this.source.kv.compactRevision;
  }

  get syncedCount(): number {
    return this.syncedTotal;
  }

  /** Places a new watcher: synced when it wants only revisions after P, else unsynced. */
  attach(watcher: Watcher): "synced" | "unsynced" {
    assert(watcher.state === "new", `watcher ${watcher.id} attached twice`);
    const start = watcher.spec.startRevision;
    assert(Number.isSafeInteger(start) && start >= 0, `bad start revision ${start}`);
    watcher.nextRevision = start === 0 ? this.revisionValue + 1 : start;
    if (watcher.nextRevision > this.revisionValue) {
      this.index(watcher);
      return "synced";
    }
    watcher.state = "unsynced";
    return "unsynced";
  }

  detach(watcher: Watcher): void {
    if (watcher.state === "synced") this.unindex(watcher);
    watcher.state = "canceled";
  }

  /** The node's apply listener: one batch, events in (revision, sub-revision) order. */
  publish(events: readonly WatchEvent[], revision: number): void {
    assert(revision >= this.revisionValue, `published ${revision} after ${this.revisionValue}`);
    const batches = this.match(events);
    for (const [watcher, matched] of batches) {
      assert(watcher.state === "synced", `watcher ${watcher.id} matched while ${watcher.state}`);
      if (watcher.owner.offerLive(watcher, matched, revision)) {
        watcher.nextRevision = revision + 1;
        continue;
      }
      // No room: drop this batch for the watcher and let it re-read it from history.
      watcher.nextRevision = Math.max(watcher.nextRevision, this.revisionValue + 1);
      this.unindex(watcher);
      watcher.state = "unsynced";
      watcher.owner.onUnsynced(watcher);
    }
    this.revisionValue = revision;
  }

  /**
   * A snapshot install replaced the state: the revisions between P and the
   * new state's were never published, so every synced watcher goes back to
   * unsynced and reads them from history (found by jepsen-lite: before this,
   * synced watchers on a member that installed a snapshot silently skipped
   * them). Events the snapshot's history no longer holds end the watch as
   * compacted, as etcd does, never as a silent gap.
   */
  replaced(): void {
    const next = this.source.kv.revision;
    assert(next >= this.revisionValue, `snapshot moved the revision back to ${next}`);
    const synced = [...this.keyWatchers.values()].flatMap((set) => [...set]);
    synced.push(...this.rangeWatchers);
    for (const watcher of synced) {
      this.unindex(watcher);
      watcher.state = "unsynced";
      watcher.owner.onUnsynced(watcher);
    }
    this.revisionValue = next;
  }

  /** One history read for an unsynced watcher, cut at P; syncs it when it reaches P. */
  catchUp(watcher: Watcher, budget: CatchUpBudget): CatchUpResult {
    assert(watcher.state === "unsynced", `catch-up of a ${watcher.state} watcher`);
    const from = watcher.nextRevision;
    assert(from >= 1, `unsynced watcher ${watcher.id} at revision ${from}`);
    assert(
      from <= this.revisionValue,
      `unsynced watcher at ${from} ahead of ${this.revisionValue}`,
    );
    const result = this.source.eventsSince({
      fromRevision: from,
      key: watcher.spec.key,
      rangeEnd: watcher.spec.rangeEnd,
      limit: budget.eventsMax,
    });
    switch (result.kind) {
      case "error":
        watcher.state = "canceled";
        return { kind: "compacted", compactRevision: result.compactRevision };
      case "events": {
        const cut = cutAtRevision(result.events, {
          revisionMax: this.revisionValue,
          bytesMax: budget.bytesMax,
          nextRevision: Math.min(result.nextRevision, this.revisionValue + 1),
        });
        assert(cut.nextRevision > from, "a history read must make progress");
        watcher.nextRevision = cut.nextRevision;
        const synced = cut.nextRevision > this.revisionValue;
        if (synced) this.index(watcher);
        const events = result.events.slice(0, cut.count);
        return { kind: "events", events, revision: cut.nextRevision - 1, synced };
      }
      default:
        return assertNever(result, "history result");
    }
  }

  private match(events: readonly WatchEvent[]): Map<Watcher, WatchEvent[]> {
    const batches = new Map<Watcher, WatchEvent[]>();
    const floor = this.revisionValue + 1;
    const collect = (watcher: Watcher, event: WatchEvent): void => {
      if (event.kv.modRevision < Math.max(watcher.nextRevision, floor)) return;
      const batch = batches.get(watcher);
      if (batch === undefined) batches.set(watcher, [event]);
      else batch.push(event);
    };
    for (const event of events) {
      const key = keyString(event.kv.key);
      const exact = this.keyWatchers.get(key);
      if (exact !== undefined) for (const watcher of exact) collect(watcher, event);
      for (const watcher of this.rangeWatchers) {
        if (watcher.matches(key)) collect(watcher, event);
      }
    }
    return batches;
  }

  private index(watcher: Watcher): void {
    watcher.state = "synced";
    this.syncedTotal++;
    if (!watcher.watchesOneKey) {
      this.rangeWatchers.add(watcher);
      return;
    }
    const key = watcher.spec.range.start;
    const set = this.keyWatchers.get(key);
    if (set === undefined) this.keyWatchers.set(key, new Set([watcher]));
    else set.add(watcher);
  }

  private unindex(watcher: Watcher): void {
    assert(watcher.state === "synced", `unindex of a ${watcher.state} watcher`);
    this.syncedTotal--;
    if (!watcher.watchesOneKey) {
      this.rangeWatchers.delete(watcher);
      return;
    }
    const key = watcher.spec.range.start;
    const set = this.keyWatchers.get(key);
    set?.delete(watcher);
    if (set?.size === 0) this.keyWatchers.delete(key);
  }
}
