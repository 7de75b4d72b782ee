// The simulated network: every message gets a seeded delay (so messages
// reorder), may be dropped or duplicated, and is delivered only if its link is
// up at delivery time. Links can be cut symmetrically or in one direction.

import type { Message, NodeId } from "../../src/raft/index.js";
import type { SeededRand } from "./rand.js";

export interface NetworkProfile {
  readonly dropPermille: number;
  readonly duplicatePermille: number;
  /** One-way delay in time units (a tick is UNITS_PER_TICK units). */
  readonly delayMinUnits: number;
  readonly delayMaxUnits: number;
}

export const RELIABLE_PROFILE: NetworkProfile = {
  dropPermille: 0,
  duplicatePermille: 0,
  delayMinUnits: 1,
  delayMaxUnits: 3,
};

export interface InFlight {
  readonly message: Message;
  /** The node that sent it: always message.from, as the peer transport insists. */
  readonly sender: NodeId;
  readonly deliverAt: number;
  /** Send order, to break ties deterministically. */
  readonly seq: number;
}

/** Bound on messages in flight; past it, new sends are dropped (like a full socket buffer). */
export const IN_FLIGHT_MAX = 5_000;

export class SimNetwork {
  private inFlight: InFlight[] = [];
  private readonly blockedLinks = new Set<string>();
  private dropNextCount = 0;
  private seq = 0;
  profile: NetworkProfile;
  readonly stats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0 };

  constructor(
    private readonly rand: SeededRand,
    profile: NetworkProfile,
  ) {
    this.profile = profile;
  }

  get size(): number {
    return this.inFlight.length;
  }

  /** Told of every message lost on the way (a shell learns of failed snapshot streams). */
  onLost: (sender: NodeId, message: Message) => void = () => undefined;

  send(sender: NodeId, message: Message, now: number): void {
    // The real transport refuses (asserts on) a message whose `from` is not
    // the sending node; a core that produced one would crash a member.
    if (message.from !== sender) {
      throw new Error(`n${sender} sent ${message.type} claiming to be from n${message.from}`);
    }
    this.stats.sent += 1;
    if (this.dropNextCount > 0) {
      this.dropNextCount -= 1;
      this.stats.dropped += 1;
      this.onLost(sender, message);
      return;
    }
    if (this.rand.chancePermille(this.profile.dropPermille) || this.size >= IN_FLIGHT_MAX) {
      this.stats.dropped += 1;
      this.onLost(sender, message);
      return;
    }
    this.enqueue(sender, message, now);
    if (this.rand.chancePermille(this.profile.duplicatePermille)) {
      this.stats.duplicated += 1;
      this.enqueue(sender, message, now);
    }
  }

  private enqueue(sender: NodeId, message: Message, now: number): void {
    const { delayMinUnits, delayMaxUnits } = this.profile;
    const delay = delayMinUnits + this.rand.nextInt(delayMaxUnits - delayMinUnits + 1);
    this.seq += 1;
    this.inFlight.push({ message, sender, deliverAt: now + delay, seq: this.seq });
  }

  /** Removes and returns the earliest message due at `now`, if any. */
  popDue(now: number): InFlight | undefined {
    let best = -1;
    for (let i = 0; i < this.inFlight.length; i++) {
      const candidate = this.inFlight[i];
      if (candidate === undefined || candidate.deliverAt > now) {
        continue;
      }
      const current = best >= 0 ? this.inFlight[best] : undefined;
      if (
        current === undefined ||
        candidate.deliverAt < current.deliverAt ||
        (candidate.deliverAt === current.deliverAt && candidate.seq < current.seq)
      ) {
        best = i;
      }
    }
    return best >= 0 ? this.removeAt(best) : undefined;
  }

  /** Removes and returns an arbitrary in-flight message (to deliver it early: reordering). */
  takeAt(pick: number): InFlight | undefined {
    if (this.inFlight.length === 0) {
      return undefined;
    }
    return this.removeAt(pick % this.inFlight.length);
  }

  /** Removes and returns the oldest in-flight message addressed to `to`. */
  takeFirstTo(to: NodeId): InFlight | undefined {
    let best = -1;
    for (let i = 0; i < this.inFlight.length; i++) {
      const candidate = this.inFlight[i];
      const current = best >= 0 ? this.inFlight[best] : undefined;
      if (candidate?.message.to === to && (current === undefined || candidate.seq < current.seq)) {
        best = i;
      }
    }
    return best >= 0 ? this.removeAt(best) : undefined;
  }

  /** Removes and returns the oldest in-flight message sent by `from`. */
  takeFirstFrom(from: NodeId): InFlight | undefined {
    let best = -1;
    for (let i = 0; i < this.inFlight.length; i++) {
      const candidate = this.inFlight[i];
      const current = best >= 0 ? this.inFlight[best] : undefined;
      if (candidate?.sender === from && (current === undefined || candidate.seq < current.seq)) {
        best = i;
      }
    }
    return best >= 0 ? this.removeAt(best) : undefined;
  }

  /** Sends another copy of an in-flight message with a fresh delay. */
  duplicateAt(pick: number, now: number): void {
    if (this.inFlight.length === 0) {
      return;
    }
    const original = this.inFlight[pick % this.inFlight.length];
    if (original !== undefined) {
      this.stats.duplicated += 1;
      this.enqueue(original.sender, original.message, now);
    }
  }

  /** Loses the next `count` messages sent, whoever sends them. */
  dropNext(count: number): void {
    this.dropNextCount += count;
  }

  canDeliver(from: NodeId, to: NodeId): boolean {
    return !this.blockedLinks.has(linkKey(from, to));
  }

  cutOneWay(from: NodeId, to: NodeId): void {
    this.blockedLinks.add(linkKey(from, to));
  }

  /** Splits the cluster in two: no message crosses between `side` and the rest. */
  split(side: readonly NodeId[], all: readonly NodeId[]): void {
    const inSide = new Set(side);
    for (const a of all) {
      for (const b of all) {
        if (inSide.has(a) !== inSide.has(b)) {
          this.blockedLinks.add(linkKey(a, b));
        }
      }
    }
  }

  heal(): void {
    this.blockedLinks.clear();
    this.dropNextCount = 0;
  }

  private removeAt(index: number): InFlight | undefined {
    const [removed] = this.inFlight.splice(index, 1);
    return removed;
  }
}

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}>${to}`;
}
