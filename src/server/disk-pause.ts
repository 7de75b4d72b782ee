// How the Raft loop rides out a full disk instead of exiting: a write that
// fails for lack of space pauses the loop on that very write (nothing after it
// in the Ready happens: no further message leaves, nothing is acknowledged; a
// leader's early MsgApps left before it, which is safe), reopens
// the store so LevelDB recovers from the failed write, and retries the same
// write with backoff until it succeeds. Meanwhile `problem` says why, so the
// node refuses new writes at once and keeps serving reads from memory. Any
// other storage failure still stops the node.
import { type StorageError, StorageIoError } from "../storage/index.js";
import type { Logger } from "./logger.js";

export const DISK_RETRY_DELAY_MS_MIN = 50;
export const DISK_RETRY_DELAY_MS_MAX = 2_000;

/** Thrown out of a paused write when the node stops: the loop ends without a fatal error. */
export class LoopStoppedError extends Error {
  override readonly name = "LoopStoppedError";
}

export interface ReopenableStore {
  readonly dataDir: string;
  reopen(): Promise<void>;
}

export interface DiskPauseHooks {
  readonly isStopped: () => boolean;
  /** Called once when a write first fails for lack of space. */
  readonly onPause: (problem: string) => void;
  /** Called once when the paused write has gone through. */
  readonly onResume: (pausedMs: number) => void;
  readonly sleep?: (ms: number) => Promise<void>;
}

export function isDiskFull(error: unknown): error is StorageError {
  return error instanceof StorageIoError && error.diskFull;
}

/** Doubling backoff from MIN to MAX: quick to resume after a short spike, cheap while it lasts. */
export function retryDelayMs(attempt: number): number {
  return Math.min(DISK_RETRY_DELAY_MS_MAX, DISK_RETRY_DELAY_MS_MIN * 2 ** Math.min(attempt, 16));
}

export class DiskPause {
  private problemValue: string | null = null;
  private pausedAtMs = 0;

  constructor(
    private readonly store: ReopenableStore,
    private readonly logger: Logger,
    private readonly hooks: DiskPauseHooks,
  ) {}

  /** Why writes are refused right now, or null. */
  get problem(): string | null {
    return this.problemValue;
  }

  /**
   * Runs one storage write, retrying it while the disk is full. The write must
   * be safe to repeat (the loop's writes are: the same entries and hard state
   * at the same indexes, the same rows and applied index).
   */
  async write(operation: string, write: () => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await write();
        break;
      } catch (error) {
        if (!isDiskFull(error)) throw error;
        this.pause(operation, error);
      }
      await this.waitAndReopen(attempt);
    }
    if (this.problemValue !== null) this.resume(operation);
  }

  private pause(operation: string, error: StorageError): void {
    if (this.problemValue !== null) return;
    this.problemValue = `no space left on device (data dir ${this.store.dataDir})`;
    this.pausedAtMs = Date.now();
    this.logger.error(
      { err: error, operation, dataDir: this.store.dataDir },
      "disk full: refusing writes and retrying until space is freed; reads are still served",
    );
    this.hooks.onPause(this.problemValue);
  }

  private resume(operation: string): void {
    const pausedMs = Date.now() - this.pausedAtMs;
    this.problemValue = null;
    this.logger.warn({ operation, pausedMs }, "disk has room again: writes resumed");
    this.hooks.onResume(pausedMs);
  }

  private async waitAndReopen(attempt: number): Promise<void> {
    const sleep = this.hooks.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    await sleep(retryDelayMs(attempt));
    if (this.hooks.isStopped()) throw new LoopStoppedError("node stopped while the disk was full");
    try {
      await this.store.reopen();
    } catch (error) {
      if (!isDiskFull(error)) throw error;
      // Still no room for LevelDB's recovery: the next attempt reopens again.
    }
  }
}
