// A proactive guard against a full disk: samples the free space of the data
// dir's volume (statfs) every second and, below --disk-reserve-bytes, makes
// the member refuse new writes with a clear error while LevelDB still has room
// for the Raft log the leader keeps sending, its compactions and its recovery.
// The last line of defence, a write that fails anyway, is DiskPause.
import { statfs } from "node:fs/promises";
import type { Logger } from "./logger.js";

const SAMPLE_INTERVAL_MS = 1_000;

/** Pure: why writes must be refused at this much free space, or null. */
export function spaceProblem(
  freeBytes: number,
  reserveBytes: number,
  dataDir: string,
): string | null {
  if (reserveBytes === 0 || freeBytes >= reserveBytes) return null;
  return (
    `no space left on device (data dir ${dataDir}): ${freeBytes} bytes free, ` +
    `below the --disk-reserve-bytes reserve of ${reserveBytes}; free space on that volume`
  );
}

export interface GuardedNode {
  setDiskSpaceProblem(problem: string | null): void;
}

export class DiskSpaceGuard {
  private timer: NodeJS.Timeout | null = null;
  private problem: string | null = null;

  constructor(
    private readonly node: GuardedNode,
    private readonly dataDir: string,
    private readonly reserveBytes: number,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    if (this.reserveBytes === 0) return;
    await this.sample();
    this.timer = setInterval(() => void this.sample(), SAMPLE_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private async sample(): Promise<void> {
    let freeBytes: number;
    try {
      const stats = await statfs(this.dataDir);
      freeBytes = stats.bavail * stats.bsize;
    } catch (error) {
      // Keep the last verdict: one failed sample says nothing about the space.
      this.logger.debug({ err: error, dataDir: this.dataDir }, "statfs of the data dir failed");
      return;
    }
    const problem = spaceProblem(freeBytes, this.reserveBytes, this.dataDir);
    if ((problem === null) !== (this.problem === null)) {
      if (problem !== null)
        this.logger.error({ freeBytes, reserveBytes: this.reserveBytes }, problem);
      else
        this.logger.warn(
          { freeBytes },
          "free disk space is above the reserve again: writes accepted",
        );
    }
    this.problem = problem;
    this.node.setDiskSpaceProblem(problem);
  }
}
