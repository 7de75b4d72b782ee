// The decision of the periodic corruption check: given what each member
// answered for the same point (HashKV at one revision, or the state digest at
// one checkpoint), which members hold corrupt data. Pure, so every rule is
// unit-tested alone; the checker (checker.ts) only gathers the answers.
//
// Rule: when a strict majority of the cluster agrees on one answer, every
// member that answered otherwise is corrupt, the leader included. Without
// such a majority (members down or silent), the leader trusts itself and
// names the peers that differ from it, as etcd's periodic check does; the
// verdict is marked inconclusive so the log says the blame may be misplaced.
import type { StateDigest } from "../../state/state-digest.js";

export interface Sample {
  readonly memberId: number;
  /** The member's answer, reduced to a comparable string (e.g. "rev 7 hash 123"). */
  readonly answer: string;
}

export interface Verdict {
  /** Members whose answer differs from the trusted one, by id. */
  readonly corrupt: readonly number[];
  /** The answer judged correct, or null when every sample agreed or there were none. */
  readonly trusted: string | null;
  /** True when no strict majority of the cluster agreed and the leader's answer was trusted. */
  readonly inconclusive: boolean;
}

const AGREED: Verdict = { corrupt: [], trusted: null, inconclusive: false };

export function judge(leaderId: number, clusterSize: number, samples: readonly Sample[]): Verdict {
  const groups = new Map<string, number[]>();
  for (const sample of samples) {
    const members = groups.get(sample.answer) ?? [];
    members.push(sample.memberId);
    groups.set(sample.answer, members);
  }
  if (groups.size <= 1) return AGREED;
  let trusted: string | null = null;
  for (const [answer, members] of groups) {
    if (members.length * 2 > clusterSize) trusted = answer;
  }
  const inconclusive = trusted === null;
  if (trusted === null) {
    trusted = samples.find((sample) => sample.memberId === leaderId)?.answer ?? null;
  }
  if (trusted === null) return AGREED; // no majority and no word from the leader: nothing to trust
  const corrupt = samples
    .filter((sample) => sample.answer !== trusted)
    .map((sample) => sample.memberId)
    .sort((a, b) => a - b);
  return { corrupt, trusted, inconclusive };
}

/** A peer's HashKV answer at the revision the leader asked for. */
export interface KvHashAnswer {
  readonly memberId: number;
  readonly hash: number;
  readonly compactRevision: number;
}

/**
 * HashKV samples comparable with the leader's: a member that has compacted at
 * another revision hashes a different set of rows (etcd skips it as well), so
 * only members whose compact revision equals the leader's take part.
 */
export function kvSamples(leader: KvHashAnswer, peers: readonly KvHashAnswer[]): Sample[] {
  return [leader, ...peers]
    .filter((answer) => answer.compactRevision === leader.compactRevision)
    .map((answer) => ({ memberId: answer.memberId, answer: `hash ${answer.hash}` }));
}

/** A member's digest at one checkpoint: the revision there is part of the answer. */
export interface DigestAnswer {
  readonly memberId: number;
  readonly revision: number;
  readonly state: StateDigest;
}

export function digestSamples(answers: readonly DigestAnswer[]): Sample[] {
  return answers.map((answer) => ({
    memberId: answer.memberId,
    answer: `revision ${answer.revision} digest ${answer.state.digest}`,
  }));
}
