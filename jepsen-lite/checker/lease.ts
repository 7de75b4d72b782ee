// Lease expiry: a key attached to a lease whose keep-alives stopped must stay
// readable until TTL − ε after the last grant/keep-alive response, and be gone
// by TTL + election timeout + ε (a new leader may wait out one election before
// it expires leases, but a failover must never restart the TTL).
//
// Public API:
//   interface LeaseObservation { time: number; completedAt?: number; present: boolean }
//   interface LeaseTrack { lease; key?; ttlMs; grantedAt; lastKeepAliveAt?; observations }
//   interface LeaseOptions { electionTimeoutMs; epsilonMs; requireExpiryObserved? }
//   type LeaseVerdict = "ok" | "expired-early" | "outlived" | "reappeared" | "unconfirmed"
//   interface LeaseTrackResult { lease; key?; verdict; mustLiveUntilMs; goneByMs; findings: string[] }
//   interface LeaseResult { valid: boolean | "unknown"; leases: LeaseTrackResult[] }
//   function checkLease(tracks: readonly LeaseTrack[], options: LeaseOptions): LeaseResult
//
// Reads are intervals, so each is judged only where it is conclusive: an
// absent read proves early expiry only if it *returned* before the bound; a
// present read proves a late one only if it was *sent* after the bound.

export interface LeaseObservation {
  /** When the read was sent. */
  readonly time: number;
  /** When its answer arrived; defaults to `time`. */
  readonly completedAt?: number;
  readonly present: boolean;
}

export interface LeaseTrack {
  readonly lease: string;
  readonly key?: string;
  readonly ttlMs: number;
  /** When the grant response arrived. */
  readonly grantedAt: number;
  /**
   * When the grant request was sent. The server starts the TTL somewhere
   * between the two, so the lower bound counts from here (default: grantedAt).
   */
  readonly grantSentAt?: number;
  /** When the last keep-alive response arrived, if any were sent. */
  readonly lastKeepAliveAt?: number;
  /** Successful reads of the key sent after the put with the lease was acknowledged. */
  readonly observations: readonly LeaseObservation[];
}

/** Whether a majority agreed on a leader at `time` (ms since the run started). */
export interface LeaderSample {
  readonly time: number;
  readonly led: boolean;
  /** Who led, when led. */
  readonly leader?: string;
}

export interface LeaseOptions {
  readonly electionTimeoutMs: number;
  /**
   * Leader presence through the run, in time order. Given, a lease must be
   * gone once a leader has been there, without a break, for election timeout
   * + ε after its expiry (only a leader expires leases). Not given: by expiry
   * + election timeout + ε.
   */
  readonly leaderSamples?: readonly LeaderSample[];
  /**
   * etcd: a new leader refreshes every lease to now + TTL + election timeout
   * (lessor.Promote), so a lease may outlive its TTL by a leader change. cairn
   * replicates each lease's expiry time and a new leader keeps it. Needs
   * leaderSamples with leader names.
   */
  readonly refreshOnLeaderChange?: boolean;
  /** Slack for clock reads, scheduling and the server's expiry tick. */
  readonly epsilonMs: number;
  /** When true (the default), a lease never seen gone makes the result unknown. */
  readonly requireExpiryObserved?: boolean;
}

export type LeaseVerdict = "ok" | "expired-early" | "outlived" | "reappeared" | "unconfirmed";

export interface LeaseTrackResult {
  readonly lease: string;
  readonly key?: string;
  /** The first finding's kind, or ok / unconfirmed. */
  readonly verdict: LeaseVerdict;
  readonly mustLiveUntilMs: number;
  readonly goneByMs: number;
  readonly findings: readonly string[];
}

export interface LeaseResult {
  readonly valid: boolean | "unknown";
  readonly leases: readonly LeaseTrackResult[];
}

export function checkLease(tracks: readonly LeaseTrack[], options: LeaseOptions): LeaseResult {
  const leases = tracks.map((track) => checkTrack(track, options));
  const requireObserved = options.requireExpiryObserved ?? true;
  const failed = leases.some((l) => l.verdict !== "ok" && l.verdict !== "unconfirmed");
  const unconfirmed = requireObserved && leases.some((l) => l.verdict === "unconfirmed");
  return { valid: failed ? false : unconfirmed ? "unknown" : true, leases };
}

/**
 * When a lease expiring at `expiryMs` must be gone by: `graceMs` (election
 * timeout + ε) after expiry, counted only over time a leader was there
 * without a break. A leader that comes and is killed again before the grace
 * has passed may not have revoked anything, so its stint does not count.
 * Without samples: expiry + grace. Without a long enough stint: no bound.
 */
function goneBy(
  expiryMs: number,
  graceMs: number,
  samples: readonly LeaderSample[] | undefined,
): number {
  if (samples === undefined) return expiryMs + graceMs;
  let runStart: number | null = null;
  for (const sample of samples) {
    if (!sample.led) {
      runStart = null;
      continue;
    }
    // A run that began before expiry counts from the expiry.
    if (runStart === null) runStart = Math.max(sample.time, expiryMs);
    if (sample.time >= runStart + graceMs) return runStart + graceMs;
  }
  return Number.POSITIVE_INFINITY;
}

/**
 * The expiry a lease granted to live until `expiryMs` really has when each
 * new leader refreshes it to (its first sighting) + TTL + election timeout.
 * A new leader refreshes the lease if it may still exist then, i.e. before the
 * bound by which it must be gone (`boundOf`), which can be after its nominal
 * expiry when the old leader died before revoking it. Samples name the leader
 * but not its term, so any return of leadership after a leaderless sample
 * counts as a new leader.
 */
function refreshedExpiry(
  expiryMs: number,
  refreshMs: number,
  samples: readonly LeaderSample[],
  grantedAtMs: number,
  boundOf: (expiryMs: number) => number,
): number {
  let expiry = expiryMs;
  let previous: LeaderSample | undefined;
  for (const sample of samples) {
    const changed =
      sample.led && previous !== undefined && (!previous.led || previous.leader !== sample.leader);
    previous = sample;
    if (sample.time > boundOf(expiry)) break;
    if (changed && sample.time >= grantedAtMs) {
      expiry = Math.max(expiry, sample.time + refreshMs);
    }
  }
  return expiry;
}

function checkTrack(track: LeaseTrack, options: LeaseOptions): LeaseTrackResult {
  const base = Math.max(track.grantedAt, track.lastKeepAliveAt ?? Number.NEGATIVE_INFINITY);
  // The TTL may have started as soon as the request was sent (found when a
  // slow grant under a lossy link looked like an early expiry).
  const lowBase = Math.max(
    track.grantSentAt ?? track.grantedAt,
    track.lastKeepAliveAt ?? Number.NEGATIVE_INFINITY,
  );
  const mustLiveUntilMs = lowBase + track.ttlMs - options.epsilonMs;
  const graceMs = options.electionTimeoutMs + options.epsilonMs;
  const boundOf = (expiry: number): number => goneBy(expiry, graceMs, options.leaderSamples);
  const expiryMs =
    options.refreshOnLeaderChange === true && options.leaderSamples !== undefined
      ? refreshedExpiry(
          base + track.ttlMs,
          track.ttlMs + options.electionTimeoutMs,
          options.leaderSamples,
          base,
          boundOf,
        )
      : base + track.ttlMs;
  const goneByMs = boundOf(expiryMs);
  const findings: { verdict: LeaseVerdict; text: string }[] = [];
  const reads = [...track.observations].sort((a, b) => a.time - b.time);
  let firstGone: LeaseObservation | undefined;
  for (const read of reads) {
    const returned = read.completedAt ?? read.time;
    if (!read.present) {
      if (firstGone === undefined || returned < (firstGone.completedAt ?? firstGone.time))
        firstGone = read;
      if (returned < mustLiveUntilMs) {
        findings.push({
          verdict: "expired-early",
          text: `absent at ${returned} ms, before ${mustLiveUntilMs} ms (TTL ${track.ttlMs} ms − ε from ${base} ms)`,
        });
      }
      continue;
    }
    if (read.time > goneByMs) {
      findings.push({
        verdict: "outlived",
        text: `present at ${read.time} ms, after ${goneByMs} ms (TTL + election timeout + ε from ${base} ms, counted over time a leader was there)`,
      });
    }
  }
  if (firstGone !== undefined) {
    const goneAt = firstGone.completedAt ?? firstGone.time;
    for (const read of reads) {
      if (read.present && read.time > goneAt) {
        findings.push({
          verdict: "reappeared",
          text: `present at ${read.time} ms after it was gone at ${goneAt} ms`,
        });
        break;
      }
    }
  }
  const first = findings[0];
  const verdict: LeaseVerdict = first?.verdict ?? (firstGone === undefined ? "unconfirmed" : "ok");
  return {
    lease: track.lease,
    ...(track.key !== undefined ? { key: track.key } : {}),
    verdict,
    mustLiveUntilMs,
    goneByMs,
    findings: findings.map((f) => f.text),
  };
}
