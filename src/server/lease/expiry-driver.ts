// Lease expiry, leader only (as etcd): every EXPIRY_ROUND_MS the leader looks
// for leases past their replicated expiry and proposes a revoke for each, a
// bounded number per round and never two in flight for one lease. Followers
// never expire anything; a new leader starts from the replicated expiry times,
// so a leader change neither resets nor shortens any lease.
//
// Why revokes are conditional: a keep-alive proposed just before expiry may be
// ordered before the revoke. The driver's revoke carries onlyIfExpired, so the
// state machine re-checks the expiry at apply, in log order, and a renewal
// that landed first turns the revoke into a no-op rather than being undone.
// The applied gate only keeps a new leader from judging leases before it has
// applied the entries it inherited.
import { assert } from "../../util/assert.js";
import type { Logger } from "../logger.js";
import type { LeadershipListener } from "../raft-node.js";

/** etcd's lessor checks for expired leases every 500 ms. */
export const EXPIRY_ROUND_MS = 500;
/** etcd revokes at most leaseRevokeRate (1000/s) → 500 per 500 ms round. */
export const REVOKES_PER_ROUND_MAX = 500;
/** Revokes awaiting their apply; past it a round proposes nothing new. */
export const REVOKES_IN_FLIGHT_MAX = 1000;
/** No grace is needed past expiry: the revoke itself re-checks it at apply (see the header). */
export const REVOKE_GRACE_MS = 0;

/** What the driver needs from the member (RaftNode in production, a fake in tests). */
export interface ExpirySource {
  readonly isLeader: boolean;
  readonly appliedIndex: number;
  readonly lastLogIndex: number;
  onLeadership(listener: LeadershipListener): void;
  /** Up to `max` leases expired at nowMs, soonest first. */
  expired(nowMs: number, max: number): number[];
  /** Proposes lease-revoke; settles once applied (or failed). */
  revoke(leaseId: number): Promise<unknown>;
}

export interface RoundInput {
  /** Leases expired at least REVOKE_GRACE_MS ago, soonest first. */
  readonly expired: readonly number[];
  readonly inFlight: ReadonlySet<number>;
  readonly appliedIndex: number;
  /** The last log index one round ago: everything up to it must be applied first. */
  readonly gateIndex: number;
}

/** Pure: which leases this round revokes. */
export function planRound(input: RoundInput): number[] {
  if (input.appliedIndex < input.gateIndex) return [];
  const room = Math.min(REVOKES_PER_ROUND_MAX, REVOKES_IN_FLIGHT_MAX - input.inFlight.size);
  const chosen: number[] = [];
  for (const id of input.expired) {
    if (chosen.length >= room) break;
    if (!input.inFlight.has(id)) chosen.push(id);
  }
  return chosen;
}

export class ExpiryDriver {
  private readonly inFlight = new Set<number>();
  private timer: NodeJS.Timeout | null = null;
  private gateIndex = 0;
  private stopped = false;

  constructor(
    private readonly source: ExpirySource,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Follows leadership from now on: runs rounds exactly while this member leads. */
  start(): void {
    this.source.onLeadership(() => this.follow());
    this.follow();
  }

  stop(): void {
    this.stopped = true;
    this.follow();
  }

  get running(): boolean {
    return this.timer !== null;
  }

  get revokesInFlight(): number {
    return this.inFlight.size;
  }

  private follow(): void {
    const lead = this.source.isLeader && !this.stopped;
    if (lead && this.timer === null) {
      // Entries of earlier terms may still be unapplied: the first revoke waits for them.
      this.gateIndex = this.source.lastLogIndex;
      this.timer = setInterval(() => this.round(), EXPIRY_ROUND_MS);
      this.timer.unref();
    } else if (!lead && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private round(): void {
    if (!this.source.isLeader || this.stopped) return;
    const scanMax = REVOKES_PER_ROUND_MAX + this.inFlight.size;
    const chosen = planRound({
      expired: this.source.expired(this.now() - REVOKE_GRACE_MS, scanMax),
      inFlight: this.inFlight,
      appliedIndex: this.source.appliedIndex,
      gateIndex: this.gateIndex,
    });
    for (const id of chosen) this.revoke(id);
    this.gateIndex = this.source.lastLogIndex;
  }

  private revoke(leaseId: number): void {
    assert(!this.inFlight.has(leaseId), `lease ${leaseId} already has a revoke in flight`);
    this.inFlight.add(leaseId);
    this.source
      .revoke(leaseId)
      .catch((error: unknown) => {
        // Lost leadership, a timeout or a concurrent client revoke: a later round retries if still due.
        this.logger.debug({ err: error, leaseId }, "lease expiry revoke failed");
      })
      .finally(() => this.inFlight.delete(leaseId));
  }
}
