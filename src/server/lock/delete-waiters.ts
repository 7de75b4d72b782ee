// Server-side waiting for key deletions, fed synchronously by the member's
// applied-event stream: a lock or election waiter registers the few keys it
// depends on (its predecessor and its own key) and is woken only when one of
// those is deleted — no Watch round trip, no thundering herd.
import type { WatchEvent } from "../../state/index.js";
import { keyString } from "../../state/index.js";
import { assert } from "../../util/assert.js";
import { CairnError } from "../errors.js";

/** Waiters one member holds at once; past it a new wait fails with "too many requests". */
export const DELETE_WAITERS_MAX = 10_000;

interface Waiter {
  readonly keys: readonly string[];
  readonly wake: () => void;
}

export class DeleteWaiters {
  /** key (latin1) → waiters depending on it; a waiter appears under each of its keys. */
  private readonly byKey = new Map<string, Set<Waiter>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Feed from RaftNode.onApplied: wakes every waiter of each deleted key. */
  onApplied(events: readonly WatchEvent[]): void {
    for (const event of events) {
      if (event.type !== "delete") continue;
      const waiters = this.byKey.get(keyString(event.kv.key));
      if (waiters === undefined) continue;
      for (const waiter of [...waiters]) {
        this.remove(waiter);
        waiter.wake();
      }
    }
  }

  /**
   * Resolves once any of `keys` is deleted; rejects with the signal's reason
   * on abort. Call it in the same synchronous turn as the state read that
   * chose the keys, so no delete can fall between the read and the wait.
   */
  waitForDelete(keys: readonly Uint8Array[], signal: AbortSignal): Promise<void> {
    assert(keys.length > 0, "a wait needs at least one key");
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.count >= DELETE_WAITERS_MAX)
      return Promise.reject(new CairnError("TOO_MANY_REQUESTS"));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.remove(waiter);
        reject(signal.reason);
      };
      const waiter: Waiter = {
        keys: [...new Set(keys.map(keyString))],
        wake: () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      this.add(waiter);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  private add(waiter: Waiter): void {
    for (const key of waiter.keys) {
      let waiters = this.byKey.get(key);
      if (waiters === undefined) {
        waiters = new Set();
        this.byKey.set(key, waiters);
      }
      waiters.add(waiter);
    }
    this.count++;
  }

  /** Idempotent: a waiter woken by one key is removed from all of its keys. */
  private remove(waiter: Waiter): void {
    let removed = false;
    for (const key of waiter.keys) {
      const waiters = this.byKey.get(key);
      if (waiters?.delete(waiter) === true) removed = true;
      if (waiters?.size === 0) this.byKey.delete(key);
    }
    if (removed) this.count--;
    assert(this.count >= 0, "delete waiter count went negative");
  }
}
