// Whether the cluster had a leader, sampled through the run: the lease
// checker's upper bound counts from the first moment after a lease's expiry
// that a leader could revoke it (only a leader expires leases, in cairn as
// in etcd), instead of guessing the longest leaderless window the nemeses
// might cause. A sample is "led" when some member says it leads and a
// majority of the members name it as leader.
import type { LeaderSample } from "../checker/lease.js";
import type { Target } from "./target.js";

/** Pause between sampling rounds; a round itself takes up to a status timeout (1 s). */
export const LEADER_SAMPLE_GAP_MS = 250;
/** A bound on samples kept (a 1 h run at the fastest rate). */
export const LEADER_SAMPLES_MAX = 20_000;

export class LeaderSampler {
  readonly samples: LeaderSample[] = [];
  private stopped = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly cluster: Target,
    private readonly now: () => number,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<LeaderSample[]> {
    this.stopped = true;
    await this.loop;
    return this.samples;
  }

  private async run(): Promise<void> {
    while (!this.stopped && this.samples.length < LEADER_SAMPLES_MAX) {
      const names = this.cluster.members.filter((m) => m.process !== null).map((m) => m.name);
      const statuses = await Promise.all(names.map((n) => this.cluster.status(n)));
      const quorum = Math.floor(this.cluster.members.length / 2) + 1;
      const claimed = statuses.filter((s) => s?.role === "leader").map((s) => s?.leaderName);
      const leader = claimed.find(
        (name) => statuses.filter((s) => s?.leaderName === name).length >= quorum,
      );
      this.samples.push(
        leader === undefined
          ? { time: this.now(), led: false }
          : { time: this.now(), led: true, leader },
      );
      await new Promise((done) => setTimeout(done, LEADER_SAMPLE_GAP_MS));
    }
  }
}
