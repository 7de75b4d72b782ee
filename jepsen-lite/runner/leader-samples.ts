// Whether the cluster had a working leader, sampled through the run: the
// lease checker's upper bound counts from the first moment after a lease's
// expiry that a leader could revoke it (only a leader expires leases, in
// cairn as in etcd), instead of guessing the longest leaderless window the
// nemeses might cause. A sample is "led" when some member says it leads, a
// majority of the members name it, and its applied index moved since the
// previous sample: the workloads write all the time, so a leader that cannot
// commit (cut off, not yet deposed) does not count. Without writes nothing
// counts as led, which only loosens the bound.
import type { LeaderSample } from "../checker/lease.js";
import type { Target } from "./target.js";

/** Pause between sampling rounds; a round itself takes up to a status timeout (1 s). */
export const LEADER_SAMPLE_GAP_MS = 250;
/** A bound on samples kept (a 1 h run at the fastest rate). */
export const LEADER_SAMPLES_MAX = 20_000;

export class LeaderSampler {
  readonly samples: LeaderSample[] = [];
  private stopped = false;
  /** Each member's applied index at the previous round. */
  private readonly applied = new Map<string, number>();
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
      const agreed = claimed.find(
        (name) => statuses.filter((s) => s?.leaderName === name).length >= quorum,
      );
      const leaderStatus = statuses[names.indexOf(agreed ?? "")];
      const before = agreed === undefined ? undefined : this.applied.get(agreed);
      const leader =
        leaderStatus !== undefined &&
        leaderStatus !== null &&
        before !== undefined &&
        Number(leaderStatus.appliedIndex) > before
          ? agreed
          : undefined;
      for (const [i, name] of names.entries()) {
        const applied = statuses[i]?.appliedIndex;
        if (applied !== undefined) this.applied.set(name, Number(applied));
      }
      // The term is part of who leads: a member re-elected after a kill is a new leader.
      this.samples.push(
        leader === undefined || leaderStatus === undefined || leaderStatus === null
          ? { time: this.now(), led: false }
          : { time: this.now(), led: true, leader: `${leader}@${Number(leaderStatus.term)}` },
      );
      await new Promise((done) => setTimeout(done, LEADER_SAMPLE_GAP_MS));
    }
  }
}
