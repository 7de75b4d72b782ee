// Linearizable read barriers batched over ReadIndex: every read that arrives
// while one ReadIndex round is in flight joins the next round, so N concurrent
// reads cost one heartbeat quorum. A round is answered by a ReadState; reads
// then wait until the local applied index reaches it. Unanswered rounds are
// re-issued (leader change, lost message) until the request timeout.
import { assert } from "../util/assert.js";
import { CairnError } from "./errors.js";

interface PendingRead {
  readonly resolve: () => void;
  readonly reject: (error: CairnError) => void;
  readonly deadlineMs: number;
}

interface Round {
  readonly context: string;
  readonly reads: PendingRead[];
  issuedAtMs: number;
  /** Set once the ReadState arrives: reads complete when applied >= index. */
  index: number | null;
}

export interface ReadIndexIssuer {
  /** Asks Raft for a read index; false when it was refused (no leader). */
  issue(context: Uint8Array): boolean;
}

export class ReadIndexBatcher {
  private waiting: PendingRead[] = [];
  private inFlight: Round | null = null;
  private readonly ready: Round[] = [];
  private sequence = 0;

  constructor(
    private readonly issuer: ReadIndexIssuer,
    private readonly timeoutMs: number,
    private readonly retryAfterMs: number,
    private readonly maxWaiting: number,
  ) {}

  /** A promise that resolves once a read at this moment is linearizable locally. */
  barrier(nowMs: number): Promise<void> {
    if (this.waiting.length >= this.maxWaiting) {
      return Promise.reject(new CairnError("TOO_MANY_REQUESTS"));
    }
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ resolve, reject, deadlineMs: nowMs + this.timeoutMs });
    });
  }

  /** Called from the node loop before taking a Ready: starts a round if due. */
  pump(nowMs: number): void {
    this.expire(nowMs);
    if (this.inFlight !== null && nowMs - this.inFlight.issuedAtMs >= this.retryAfterMs) {
      // The round's answer never came (leader changed or message lost): re-issue it.
      this.waiting = [...this.inFlight.reads, ...this.waiting];
      this.inFlight = null;
    }
    if (this.inFlight !== null || this.waiting.length === 0) {
      return;
    }
    const context = `r${++this.sequence}`;
    const round: Round = { context, reads: this.waiting, issuedAtMs: nowMs, index: null };
    this.waiting = [];
    if (!this.issuer.issue(Buffer.from(context))) {
      for (const read of round.reads) read.reject(new CairnError("NO_LEADER"));
      return;
    }
    this.inFlight = round;
  }

  onReadState(context: Uint8Array, index: number, appliedIndex: number): void {
    const round = this.inFlight;
    if (round === null || Buffer.from(context).toString() !== round.context) {
      return; // an answer to a round we already re-issued
    }
    this.inFlight = null;
    round.index = index;
    this.ready.push(round);
    this.onApplied(appliedIndex);
  }

  onApplied(appliedIndex: number): void {
    while (this.ready.length > 0) {
      const round = this.ready[0] as Round;
      assert(round.index !== null, "ready rounds have an index");
      if (round.index > appliedIndex) {
        return; // rounds complete in order: their indexes never decrease
      }
      this.ready.shift();
      for (const read of round.reads) read.resolve();
    }
  }

  get hasWork(): boolean {
    return this.waiting.length > 0 || this.inFlight !== null;
  }

  failAll(error: CairnError): void {
    const all = [
      ...this.waiting,
      ...(this.inFlight?.reads ?? []),
      ...this.ready.flatMap((r) => r.reads),
    ];
    this.waiting = [];
    this.inFlight = null;
    this.ready.length = 0;
    for (const read of all) read.reject(error);
  }

  private expire(nowMs: number): void {
    const expired = (read: PendingRead): boolean => {
      if (read.deadlineMs > nowMs) return false;
      read.reject(new CairnError("TIMEOUT"));
      return true;
    };
    this.waiting = this.waiting.filter((read) => !expired(read));
    if (this.inFlight !== null) {
      const kept = this.inFlight.reads.filter((read) => !expired(read));
      this.inFlight.reads.length = 0;
      this.inFlight.reads.push(...kept);
    }
  }
}
