// Client-side choice of one member of a group per request: round-robin,
// smooth weighted round-robin, least-latency from the client's own
// measurements, and key-hash (rendezvous, the server's placement function).
// Pure apart from an injectable clock; each follows membership changes
// through update(), keeping what it learned about members that stay.
import { locate } from "../state/platform/rendezvous.js";

export interface PickerMember<T> {
  readonly id: string;
  /** Relative share for weighted and key-hash picks; > 0. */
  readonly weight: number;
  readonly value: T;
}

export interface Picker<T> {
  /** The chosen member's value, or undefined when the group is empty. */
  pick(key?: string): T | undefined;
  update(members: readonly PickerMember<T>[]): void;
}

function sortedById<T>(members: readonly PickerMember<T>[]): PickerMember<T>[] {
  const seen = new Set<string>();
  for (const member of members) {
    if (!(Number.isFinite(member.weight) && member.weight > 0)) {
      throw new RangeError(`member ${member.id} has weight ${member.weight}; weights must be > 0`);
    }
    if (seen.has(member.id)) throw new RangeError(`member ${member.id} is listed twice`);
    seen.add(member.id);
  }
  return [...members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Each member in turn, in member-id order. */
export class RoundRobinPicker<T> implements Picker<T> {
  private members: PickerMember<T>[] = [];
  private nextIndex = 0;

  constructor(members: readonly PickerMember<T>[]) {
    this.update(members);
  }

  pick(): T | undefined {
    if (this.members.length === 0) return undefined;
    const member = this.members[this.nextIndex % this.members.length] as PickerMember<T>;
    this.nextIndex = (this.nextIndex + 1) % this.members.length;
    return member.value;
  }

  update(members: readonly PickerMember<T>[]): void {
    this.members = sortedById(members);
  }
}

/**
 * nginx's smooth weighted round-robin: over any run of W picks (W = the sum
 * of weights) each member is picked exactly weight times, interleaved rather
 * than in bursts.
 */
export class WeightedPicker<T> implements Picker<T> {
  private members: PickerMember<T>[] = [];
  private readonly currentWeights = new Map<string, number>();

  constructor(members: readonly PickerMember<T>[]) {
    this.update(members);
  }

  pick(): T | undefined {
    let best: PickerMember<T> | undefined;
    let bestWeight = Number.NEGATIVE_INFINITY;
    let total = 0;
    for (const member of this.members) {
      const current = (this.currentWeights.get(member.id) ?? 0) + member.weight;
      this.currentWeights.set(member.id, current);
      total += member.weight;
      if (current > bestWeight) {
        best = member;
        bestWeight = current;
      }
    }
    if (best === undefined) return undefined;
    this.currentWeights.set(best.id, bestWeight - total);
    return best.value;
  }

  update(members: readonly PickerMember<T>[]): void {
    this.members = sortedById(members);
    // Restart the schedule: stale credits would bias the first rounds after a change.
    this.currentWeights.clear();
  }
}

export interface LeastLatencyOptions {
  /** Weight of the newest sample in the moving average (0..1]. */
  readonly smoothing?: number;
  /** Every Nth pick goes to the member measured least recently, so a member that got faster is noticed. */
  readonly exploreEvery?: number;
  /** Latency recorded for a failed request. */
  readonly failurePenaltyMs?: number;
  readonly now?: () => number;
}

interface LatencyStats {
  averageMs: number;
  samples: number;
  lastSampleAt: number;
}

/**
 * The member with the lowest moving-average latency as this client measured
 * it. Unmeasured members go first (every member gets measured), and a share
 * of picks re-measures the stalest member, so the choice adapts both ways.
 */
export class LeastLatencyPicker<T> implements Picker<T> {
  private members: PickerMember<T>[] = [];
  private readonly stats = new Map<string, LatencyStats>();
  private picks = 0;
  private readonly smoothing: number;
  private readonly exploreEvery: number;
  private readonly failurePenaltyMs: number;
  private readonly now: () => number;

  constructor(members: readonly PickerMember<T>[], options: LeastLatencyOptions = {}) {
    this.smoothing = options.smoothing ?? 0.3;
    this.exploreEvery = options.exploreEvery ?? 10;
    this.failurePenaltyMs = options.failurePenaltyMs ?? 5_000;
    this.now = options.now ?? (() => performance.now());
    if (!(this.smoothing > 0 && this.smoothing <= 1)) {
      throw new RangeError(`smoothing must be in (0, 1], got ${this.smoothing}`);
    }
    if (!(Number.isSafeInteger(this.exploreEvery) && this.exploreEvery >= 2)) {
      throw new RangeError(`exploreEvery must be an integer >= 2, got ${this.exploreEvery}`);
    }
    this.update(members);
  }

  pick(): T | undefined {
    return this.pickMember()?.value;
  }

  /** The member's moving-average latency, or undefined before its first sample. */
  latencyMs(id: string): number | undefined {
    return this.stats.get(id)?.averageMs;
  }

  record(id: string, latencyMs: number): void {
    if (!(Number.isFinite(latencyMs) && latencyMs >= 0)) {
      throw new RangeError(`latency must be a non-negative number, got ${latencyMs}`);
    }
    const stats = this.stats.get(id);
    if (stats === undefined) {
      this.stats.set(id, { averageMs: latencyMs, samples: 1, lastSampleAt: this.now() });
      return;
    }
    stats.averageMs += this.smoothing * (latencyMs - stats.averageMs);
    stats.samples++;
    stats.lastSampleAt = this.now();
  }

  /** Picks a member, runs `run` on it, and records how long it took (a failure costs the penalty). */
  async measure<R>(run: (value: T) => Promise<R>): Promise<R> {
    const member = this.pickMember();
    if (member === undefined) throw new Error("no members to pick from");
    const started = this.now();
    try {
      const result = await run(member.value);
      this.record(member.id, this.now() - started);
      return result;
    } catch (error) {
      this.record(member.id, Math.max(this.failurePenaltyMs, this.now() - started));
      throw error;
    }
  }

  update(members: readonly PickerMember<T>[]): void {
    this.members = sortedById(members);
    const ids = new Set(this.members.map((member) => member.id));
    for (const id of [...this.stats.keys()]) if (!ids.has(id)) this.stats.delete(id);
  }

  private pickMember(): PickerMember<T> | undefined {
    if (this.members.length === 0) return undefined;
    this.picks++;
    const unmeasured = this.members.find((member) => !this.stats.has(member.id));
    if (unmeasured !== undefined) return unmeasured;
    if (this.picks % this.exploreEvery === 0) return this.stalest();
    let best = this.members[0] as PickerMember<T>;
    for (const member of this.members) {
      if (this.averageOf(member) < this.averageOf(best)) best = member;
    }
    return best;
  }

  private stalest(): PickerMember<T> {
    let stalest = this.members[0] as PickerMember<T>;
    for (const member of this.members) {
      if (this.lastSampleOf(member) < this.lastSampleOf(stalest)) stalest = member;
    }
    return stalest;
  }

  private averageOf(member: PickerMember<T>): number {
    return this.stats.get(member.id)?.averageMs ?? 0;
  }

  private lastSampleOf(member: PickerMember<T>): number {
    return this.stats.get(member.id)?.lastSampleAt ?? Number.NEGATIVE_INFINITY;
  }
}

/**
 * The key's owner by weighted rendezvous hashing, the same function the
 * server's Locate uses: a key stays on its member until that member leaves,
 * and a join takes over only its fair share of keys.
 */
export class KeyHashPicker<T> implements Picker<T> {
  private members: PickerMember<T>[] = [];
  private byId = new Map<string, PickerMember<T>>();

  constructor(members: readonly PickerMember<T>[]) {
    this.update(members);
  }

  pick(key?: string): T | undefined {
    if (key === undefined) throw new TypeError("a key-hash picker needs the request's key");
    return this.owners(key, 1)[0];
  }

  /** The `replicas` best owners of `key`, best first. */
  owners(key: string, replicas: number): T[] {
    if (this.members.length === 0) return [];
    const ids = locate(this.members, key, replicas);
    return ids.map((id) => (this.byId.get(id) as PickerMember<T>).value);
  }

  update(members: readonly PickerMember<T>[]): void {
    this.members = sortedById(members);
    this.byId = new Map(this.members.map((member) => [member.id, member]));
  }
}
