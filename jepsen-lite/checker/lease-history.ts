// Lease tracks from a run's history, for the lease workload's conventions:
//   <prefix>:grant key → ok {lease, ttl}   (ttl in seconds, as etcd returns it)
//   <prefix>:put key   → ok
//   <prefix>:read key  → ok {present: boolean}
//
// Public API:
//   function leaseTracksFromHistory(ops: readonly PairedOp[], prefix?: string): LeaseTrack[]
//
// Only rounds whose grant and put both succeeded are tracked, and only reads
// sent after the put returned count: before that, "absent" proves nothing.

import type { PairedOp } from "../history/pair.js";
import type { LeaseObservation, LeaseTrack } from "./lease.js";

interface Round {
  lease?: string;
  ttlMs?: number;
  grantedAt?: number;
  grantSentAt?: number;
  putAt?: number;
  readonly reads: PairedOp[];
}

export function leaseTracksFromHistory(ops: readonly PairedOp[], prefix = "lease"): LeaseTrack[] {
  const rounds = new Map<string, Round>();
  const roundOf = (key: string): Round => {
    const existing = rounds.get(key);
    if (existing !== undefined) return existing;
    const created: Round = { reads: [] };
    rounds.set(key, created);
    return created;
  };
  for (const op of ops) {
    if (op.key === undefined || op.outcome !== "ok" || op.completeTime === undefined) continue;
    const round = roundOf(op.key);
    if (op.f === `${prefix}:grant`) {
      const granted = op.output as { lease?: unknown; ttl?: unknown } | undefined;
      if (typeof granted?.ttl !== "number") continue;
      round.lease = String(granted.lease);
      round.ttlMs = granted.ttl * 1000;
      round.grantedAt = op.completeTime;
      round.grantSentAt = op.callTime;
    } else if (op.f === `${prefix}:put`) {
      round.putAt = op.completeTime;
    } else if (op.f === `${prefix}:read`) {
      round.reads.push(op);
    }
  }
  const tracks: LeaseTrack[] = [];
  for (const [key, round] of rounds) {
    const { lease, ttlMs, grantedAt, grantSentAt, putAt } = round;
    if (
      lease === undefined ||
      ttlMs === undefined ||
      grantedAt === undefined ||
      putAt === undefined
    )
      continue;
    const observations: LeaseObservation[] = round.reads
      .filter((read) => read.callTime >= putAt)
      .map((read) => ({
        time: read.callTime,
        completedAt: read.completeTime ?? read.callTime,
        present: (read.output as { present?: unknown } | undefined)?.present === true,
      }));
    tracks.push({
      lease,
      key,
      ttlMs,
      grantedAt,
      ...(grantSentAt === undefined ? {} : { grantSentAt }),
      observations,
    });
  }
  return tracks;
}
