// Requests waiting for their command to be applied, keyed by request id.
// Bounded: past maxPending a new proposal is refused with "too many requests"
// instead of growing memory. Ids start at the boot wall clock × 1000 so a
// restarted node never reuses an id that may still sit in the log.
import type { ApplyResult } from "../state/state-machine.js";
import { assert } from "../util/assert.js";
import { CairnError } from "./errors.js";

interface Waiter {
  readonly resolve: (result: ApplyResult) => void;
  readonly reject: (error: CairnError) => void;
  readonly timer: NodeJS.Timeout;
}

export class ProposalWaiters {
  private readonly waiters = new Map<number, Waiter>();
  private nextRequestId: number;

  constructor(
    private readonly maxPending: number,
    private readonly timeoutMs: number,
    private readonly onFailure: (reason: string) => void,
    bootTimeMs: number,
  ) {
    assert(maxPending > 0, "maxPending must be positive");
    this.nextRequestId = bootTimeMs * 1000;
    assert(Number.isSafeInteger(this.nextRequestId), "request ids must be safe integers");
  }

  get pending(): number {
    return this.waiters.size;
  }

  /** Registers a waiter and returns its id and the promise of its result. */
  register(): { id: number; result: Promise<ApplyResult> } {
    if (this.waiters.size >= this.maxPending) {
      this.onFailure("too-many-requests");
      throw new CairnError("TOO_MANY_REQUESTS");
    }
    const id = this.nextRequestId++;
    const result = new Promise<ApplyResult>((resolve, reject) => {
      const timer = setTimeout(
        () => this.fail(id, new CairnError("TIMEOUT"), "timeout"),
        this.timeoutMs,
      );
      this.waiters.set(id, { resolve, reject, timer });
    });
    return { id, result };
  }

  resolve(id: number, result: ApplyResult): void {
    const waiter = this.waiters.get(id);
    if (waiter === undefined) {
      return; // another member's request, or one that already timed out
    }
    this.waiters.delete(id);
    clearTimeout(waiter.timer);
    waiter.resolve(result);
  }

  fail(id: number, error: CairnError, reason: string): void {
    const waiter = this.waiters.get(id);
    if (waiter === undefined) {
      return;
    }
    this.waiters.delete(id);
    clearTimeout(waiter.timer);
    this.onFailure(reason);
    waiter.reject(error);
  }

  /** A request that is still waiting (not answered, failed or timed out). */
  has(id: number): boolean {
    return this.waiters.has(id);
  }

  /** Fails every waiting request except those in `except`. */
  failAll(error: CairnError, reason: string, except?: ReadonlySet<number>): void {
    for (const id of [...this.waiters.keys()]) {
      if (except?.has(id) !== true) this.fail(id, error, reason);
    }
  }
}
