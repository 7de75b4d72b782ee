// Test-only emulation of an operating system's page cache, for the planted
// bug `--unsafe no-fsync`. Without it that bug is invisible to a fault test:
// SIGKILL ends the process but the kernel still holds every write it was
// given, so nothing acknowledged is ever lost. A power cut loses those unsynced
// writes; here they wait in the process, in order, and reach LevelDB only when
// the next writeback comes (every `intervalMs`, like the kernel's flusher
// thread), when a synced write forces them out (fsync writes back the file's
// earlier pages too), or before a read. A SIGKILL then loses exactly what a
// power cut would have lost. Never used unless --unsafe no-fsync is on.
import type { BatchOp } from "./batch-op.js";

/** Queued ops beyond which a write waits for a writeback (a bounded queue, as the kernel's dirty limit). */
export const WRITE_BEHIND_OPS_MAX = 50_000;

export class WriteBehind {
  private queued: BatchOp[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly writeBack: (ops: BatchOp[]) => Promise<void>,
    intervalMs: number,
  ) {
    this.timer = setInterval(() => {
      this.flush().catch(() => undefined);
    }, intervalMs);
    this.timer.unref();
  }

  /** Takes the batch; it reaches the database later. A failed earlier writeback is thrown here. */
  async add(ops: readonly BatchOp[]): Promise<void> {
    if (this.failure !== null) throw this.failure;
    this.queued.push(...ops);
    if (this.queued.length >= WRITE_BEHIND_OPS_MAX) await this.flush();
  }

  get pendingOps(): number {
    return this.queued.length;
  }

  /** Everything queued so far is in the database when this resolves (in one batch, in order). */
  flush(): Promise<void> {
    const next = this.flushing.then(async () => {
      if (this.queued.length === 0) return;
      const ops = this.queued;
      this.queued = [];
      try {
        await this.writeBack(ops);
      } catch (error) {
        this.failure = error;
        throw error;
      }
    });
    this.flushing = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
