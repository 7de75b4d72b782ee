// Weighted rendezvous (highest-random-weight) hashing over committed member
// ids: the placement function behind Membership.Locate. It is a pure function
// of (member ids, weights, key), with no imports, so the client library can
// run it on a membership list it read at a revision and get the server's answer.
//
// Each (member, key) pair gets h in (0, 1) from two seeded MurmurHash3 (x86,
// 32-bit) digests of UTF-8 `key \0 memberId`, and the score −weight / ln(h)
// (reference/raft.md §5). The highest score owns the key; ties (probability
// about 2^-53) go to the smaller member id. Removing a member moves exactly its
// own keys; adding one to N equal members takes about 1/(N+1) of all keys.

export interface RendezvousMember {
  readonly id: string;
  /** Relative share of keys: a member of weight 2 owns about twice the keys of weight 1. */
  readonly weight: number;
}

const SEED_HIGH = 0x9747b28c;
const SEED_LOW = 0x5bd1e995;
const TWO_TO_21 = 2 ** 21;
const TWO_TO_53 = 2 ** 53;
const encoder = new TextEncoder();

function rotl32(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** MurmurHash3_x86_32 over bytes[0, length). */
export function murmur3(bytes: Uint8Array, length: number, seed: number): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k =
      (bytes[i] as number) |
      ((bytes[i + 1] as number) << 8) |
      ((bytes[i + 2] as number) << 16) |
      ((bytes[i + 3] as number) << 24);
    k = Math.imul(rotl32(Math.imul(k, c1), 15), c2);
    h = (Math.imul(rotl32(h ^ k, 13), 5) + 0xe6546b64) | 0;
  }
  // The 1-3 trailing bytes, little-endian, as the reference implementation's fall-through switch.
  const remaining = length & 3;
  if (remaining > 0) {
    let tail = 0;
    for (let i = remaining - 1; i >= 0; i--) tail = (tail << 8) | (bytes[blocks + i] as number);
    h ^= Math.imul(rotl32(Math.imul(tail, c1), 15), c2);
  }
  h ^= length;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Scratch layout for one key: key bytes, a 0 separator, then each member id in
 * turn. Built once per key so scoring N members costs N hashes, not N encodes.
 */
interface KeyScratch {
  readonly buffer: Uint8Array;
  readonly memberOffset: number;
}

function keyScratch(key: string, memberIds: readonly Uint8Array[]): KeyScratch {
  const keyBytes = encoder.encode(key);
  let longest = 0;
  for (const id of memberIds) longest = Math.max(longest, id.length);
  const buffer = new Uint8Array(keyBytes.length + 1 + longest);
  buffer.set(keyBytes, 0);
  return { buffer, memberOffset: keyBytes.length + 1 };
}

/** h in (0, 1) with 53 random bits: never 0 (ln 0) nor 1 (score ∞). */
function unitHash(scratch: KeyScratch, memberId: Uint8Array): number {
  scratch.buffer.set(memberId, scratch.memberOffset);
  const length = scratch.memberOffset + memberId.length;
  const high = murmur3(scratch.buffer, length, SEED_HIGH);
  const low = murmur3(scratch.buffer, length, SEED_LOW) >>> 11;
  return (high * TWO_TO_21 + low + 0.5) / TWO_TO_53;
}

function scoreOf(weight: number, h: number): number {
  return -weight / Math.log(h);
}

/** The score of one member for one key (exported for tests and for clients that cache). */
export function rendezvousScore(member: RendezvousMember, key: string): number {
  const id = encoder.encode(member.id);
  return scoreOf(member.weight, unitHash(keyScratch(key, [id]), id));
}

function checkMembers(members: readonly RendezvousMember[]): void {
  const seen = new Set<string>();
  for (const member of members) {
    if (!(Number.isFinite(member.weight) && member.weight > 0)) {
      throw new RangeError(`member ${member.id} has weight ${member.weight}; weights must be > 0`);
    }
    if (seen.has(member.id)) throw new RangeError(`member ${member.id} is listed twice`);
    seen.add(member.id);
  }
}

/**
 * The `replicas` highest-scoring member ids for `key`, best first. The input
 * order does not matter; at most members.length ids come back.
 */
export function locate(
  members: readonly RendezvousMember[],
  key: string,
  replicas: number,
): string[] {
  if (!(Number.isSafeInteger(replicas) && replicas >= 1)) {
    throw new RangeError(`replicas must be a positive integer, got ${replicas}`);
  }
  checkMembers(members);
  const ids = members.map((member) => encoder.encode(member.id));
  const scratch = keyScratch(key, ids);
  const scored = members.map((member, i) => ({
    id: member.id,
    score: scoreOf(member.weight, unitHash(scratch, ids[i] as Uint8Array)),
  }));
  scored.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return scored.slice(0, replicas).map((entry) => entry.id);
}

/** The primary owner of every key, in key order; "" when there are no members. */
export function primaryOwners(
  members: readonly RendezvousMember[],
  keys: readonly string[],
): string[] {
  checkMembers(members);
  // Encode the ids once: this runs over thousands of keys per membership change.
  const ids = members.map((member) => encoder.encode(member.id));
  return keys.map((key) => {
    const scratch = keyScratch(key, ids);
    let best = "";
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < members.length; i++) {
      const member = members[i] as RendezvousMember;
      const score = scoreOf(member.weight, unitHash(scratch, ids[i] as Uint8Array));
      if (score > bestScore || (score === bestScore && member.id < best)) {
        best = member.id;
        bestScore = score;
      }
    }
    return best;
  });
}

/** Number of keys sampled to estimate how much a membership change moved. */
export const MOVE_SAMPLE_SIZE = 1024;

/** A fixed key set, identical on every member and client, for moved-fraction estimates. */
export const MOVE_SAMPLE_KEYS: readonly string[] = Array.from(
  { length: MOVE_SAMPLE_SIZE },
  (_, i) => `cairn-sample-${i}`,
);

/**
 * Fraction of `keys` whose primary owner differs between the two member sets
 * (0 when both are empty). With the default sample its standard error is about
 * sqrt(f(1−f)/1024), e.g. ±0.009 around 0.09.
 */
export function movedFraction(
  before: readonly RendezvousMember[],
  after: readonly RendezvousMember[],
  keys: readonly string[] = MOVE_SAMPLE_KEYS,
): number {
  if (keys.length === 0) return 0;
  const was = primaryOwners(before, keys);
  const now = primaryOwners(after, keys);
  let moved = 0;
  for (let i = 0; i < keys.length; i++) {
    if (was[i] !== now[i]) moved++;
  }
  return moved / keys.length;
}

/**
 * Primary owners of a fixed key set, kept up to date one member change at a
 * time: a join scores only the newcomer, a leave rescores only the keys the
 * leaver owned. The owners always equal primaryOwners(current members, keys).
 */
export class OwnerTable {
  private readonly keyBytes: readonly Uint8Array[];
  private readonly longestKey: number;
  private readonly ownerIds: string[];
  private readonly bestScores: Float64Array;

  constructor(keys: readonly string[], members: readonly RendezvousMember[]) {
    checkMembers(members);
    this.keyBytes = keys.map((key) => encoder.encode(key));
    this.longestKey = this.keyBytes.reduce((longest, bytes) => Math.max(longest, bytes.length), 0);
    this.ownerIds = keys.map(() => "");
    this.bestScores = new Float64Array(keys.length).fill(Number.NEGATIVE_INFINITY);
    for (const member of members) this.add(member);
  }

  get owners(): readonly string[] {
    return this.ownerIds;
  }

  /** Adds a member that is not in the table. */
  add(member: RendezvousMember): void {
    checkMembers([member]);
    const scores = this.scoresOf(member);
    for (let i = 0; i < scores.length; i++) {
      const score = scores[i] as number;
      const best = this.bestScores[i] as number;
      if (score > best || (score === best && member.id < (this.ownerIds[i] as string))) {
        this.ownerIds[i] = member.id;
        this.bestScores[i] = score;
      }
    }
  }

  /** Removes a member; `remaining` are the members left (the keys it owned go to the best of them). */
  remove(memberId: string, remaining: readonly RendezvousMember[]): void {
    const orphaned: number[] = [];
    for (let i = 0; i < this.ownerIds.length; i++) {
      if (this.ownerIds[i] === memberId) orphaned.push(i);
    }
    for (const i of orphaned) {
      this.ownerIds[i] = "";
      this.bestScores[i] = Number.NEGATIVE_INFINITY;
    }
    for (const member of remaining) {
      const id = encoder.encode(member.id);
      const buffer = new Uint8Array(this.longestKey + 1 + id.length);
      for (const i of orphaned) {
        const score = this.scoreAt(buffer, i, id, member.weight);
        const best = this.bestScores[i] as number;
        if (score > best || (score === best && member.id < (this.ownerIds[i] as string))) {
          this.ownerIds[i] = member.id;
          this.bestScores[i] = score;
        }
      }
    }
  }

  private scoresOf(member: RendezvousMember): Float64Array {
    const id = encoder.encode(member.id);
    const buffer = new Uint8Array(this.longestKey + 1 + id.length);
    const scores = new Float64Array(this.keyBytes.length);
    for (let i = 0; i < scores.length; i++) scores[i] = this.scoreAt(buffer, i, id, member.weight);
    return scores;
  }

  /** The same bytes and score as locate(): key, a 0 separator, the member id. */
  private scoreAt(buffer: Uint8Array, keyIndex: number, id: Uint8Array, weight: number): number {
    const key = this.keyBytes[keyIndex] as Uint8Array;
    buffer.set(key, 0);
    buffer[key.length] = 0;
    return scoreOf(weight, unitHash({ buffer, memberOffset: key.length + 1 }, id));
  }
}
