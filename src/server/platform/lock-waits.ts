// Server-side waiting for platform locks, fed by the platform feed: an
// Acquire that was queued parks on its lock's name and is woken by the next
// applied change of that lock (a release, a hand-over, a lease revoke), then
// re-reads where its lease stands. No polling, and only that lock's waiters wake.
import type { PlatformEvent } from "../../state/index.js";
import { assert } from "../../util/assert.js";
import { CairnError } from "../errors.js";
import type { PlatformFeed } from "./platform-events.js";

/** Parked Acquire calls one member holds; past it a new wait fails with "too many requests". */
export const LOCK_WAITS_MAX = 10_000;

export class LockWaits {
  private readonly byName = new Map<string, Set<() => void>>();
  private count = 0;

  constructor(feed: Pick<PlatformFeed, "listen">) {
    // After a snapshot every waiter re-reads its lock: its release may be inside the snapshot.
    feed.listen(
      (events) => this.onEvents(events),
      () => this.wakeAll(),
    );
  }

  get size(): number {
    return this.count;
  }

  /**
   * Resolves at the next applied change of lock `name`; rejects with the
   * signal's reason on abort. Call it in the same synchronous turn as the
   * state read that decided to wait, so no change falls in between.
   */
  next(name: string, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.count >= LOCK_WAITS_MAX) return Promise.reject(new CairnError("TOO_MANY_REQUESTS"));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.remove(name, wake);
        reject(signal.reason);
      };
      const wake = (): void => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      this.add(name, wake);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  private onEvents(events: readonly PlatformEvent[]): void {
    for (const event of events) {
      if (event.table !== "lock") continue;
      const wakes = this.byName.get(event.name);
      if (wakes === undefined) continue;
      this.byName.delete(event.name);
      this.count -= wakes.size;
      for (const wake of wakes) wake();
    }
    assert(this.count >= 0, "lock wait count went negative");
  }

  private wakeAll(): void {
    const all = [...this.byName.values()];
    this.byName.clear();
    this.count = 0;
    for (const wakes of all) for (const wake of wakes) wake();
  }

  private add(name: string, wake: () => void): void {
    let wakes = this.byName.get(name);
    if (wakes === undefined) {
      wakes = new Set();
      this.byName.set(name, wakes);
    }
    wakes.add(wake);
    this.count++;
  }

  private remove(name: string, wake: () => void): void {
    const wakes = this.byName.get(name);
    if (wakes?.delete(wake) !== true) return;
    this.count--;
    if (wakes.size === 0) this.byName.delete(name);
  }
}
