// etcd's auto-compaction, run by the leader only: "revision" mode keeps the
// last N revisions; "periodic" mode keeps the history of the last retention
// window by sampling (time, revision) and compacting to the newest sample
// older than the window. Compaction goes through Raft like a client's.
import type { AutoCompaction } from "./config.js";
import type { Logger } from "./logger.js";
import type { RaftNode } from "./raft-node.js";

/** How often revision mode checks (etcd uses 5 minutes). */
const REVISION_MODE_CHECK_MS = 5 * 60_000;
/** Periodic mode samples every retention/10, within these bounds. */
const PERIODIC_SAMPLE_MS_MIN = 1000;
const PERIODIC_SAMPLE_MS_MAX = 5 * 60_000;
/** Samples kept: a window of retention/interval plus slack, never more. */
const SAMPLES_MAX = 64;

interface Sample {
  readonly atMs: number;
  readonly revision: number;
}

/** Pure: the revision periodic mode compacts to, or null. */
export function periodicTarget(
  samples: readonly Sample[],
  nowMs: number,
  retentionMs: number,
): number | null {
  let target: number | null = null;
  for (const sample of samples) {
    if (sample.atMs <= nowMs - retentionMs) target = sample.revision;
  }
  return target;
}

export class AutoCompactor {
  private timer: NodeJS.Timeout | null = null;
  private samples: Sample[] = [];
  private inFlight = false;

  constructor(
    private readonly node: RaftNode,
    private readonly policy: AutoCompaction,
    private readonly logger: Logger,
    private readonly checkIntervalMs: number = AutoCompactor.defaultInterval(policy),
  ) {}

  static defaultInterval(policy: AutoCompaction): number {
    switch (policy.mode) {
      case "off":
        return 0;
      case "revision":
        return REVISION_MODE_CHECK_MS;
      case "periodic":
        return Math.min(
          PERIODIC_SAMPLE_MS_MAX,
          Math.max(PERIODIC_SAMPLE_MS_MIN, policy.retentionMs / 10),
        );
    }
  }

  start(): void {
    if (this.policy.mode === "off") return;
    this.timer = setInterval(() => this.tick(Date.now()), this.checkIntervalMs);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
  }

  private tick(nowMs: number): void {
    const revision = this.node.stateMachine.kv.revision;
    this.samples.push({ atMs: nowMs, revision });
    if (this.samples.length > SAMPLES_MAX) this.samples.shift();
    if (!this.node.isLeader || this.inFlight) return;
    const target = this.target(nowMs, revision);
    if (target === null || target <= this.node.stateMachine.kv.compactRevision) return;
    this.inFlight = true;
    this.node
      .propose({ kind: "compact", revision: target })
      .then(
        () => this.logger.info({ revision: target, mode: this.policy.mode }, "auto-compacted"),
        (error: unknown) =>
          this.logger.warn({ err: error, revision: target }, "auto-compaction failed"),
      )
      .finally(() => {
        this.inFlight = false;
      });
  }

  private target(nowMs: number, revision: number): number | null {
    switch (this.policy.mode) {
      case "off":
        return null;
      case "revision":
        return revision - this.policy.retentionRevisions > 1
          ? revision - this.policy.retentionRevisions
          : null;
      case "periodic":
        return periodicTarget(this.samples, nowMs, this.policy.retentionMs);
    }
  }
}
