// Mutual exclusion as the protected resource saw it. The lock workload keeps
// a harness-side resource that logs every write attempt with the writer's
// fencing token (the lock key's create revision); the fenced resource only
// accepts tokens ≥ the highest it has accepted.
//
// Public API:
//   interface LockHold { process; token; acquiredAt; releasedAt? }
//   interface ResourceWrite { time; process; token; accepted }
//   interface LockLog { holds: readonly LockHold[]; writes: readonly ResourceWrite[] }
//   type LockFinding = { kind: LockFindingKind; description: string; writeIndex?: number }
//   interface LockResult { valid: boolean; fenced: boolean; acceptedWrites; rejectedWrites;
//                          violations; violationCount; observations; observationCount }
//   function checkLock(log: LockLog, options: { fenced: boolean }): LockResult
//   interface AcceptedWriteRecord { token; holder; acquiredAt; writtenAt; releasedAt: number | null }
//   function lockLogFromAcceptedWrites(writes: readonly AcceptedWriteRecord[]): LockLog
//
// Why overlap is judged in the resource's order, not in real time: a holder
// paused past its lease still believes it holds the lock, so client-side hold
// intervals overlap even when the lock service is correct. Fencing makes that
// harmless; what must never happen is the resource accepting writes of two
// holders interleaved (A, B, A) or a token going backwards. Real-time
// overlaps are reported as observations: they show the nemesis bit.
// Unfenced, interleaving is expected under faults and is an observation too;
// only a token granted to two processes is a violation in both variants.

export interface LockHold {
  readonly process: number;
  readonly token: number;
  /** When the acquire response arrived. */
  readonly acquiredAt: number;
  /** When the release was sent; absent if never released (crash, lost lease). */
  readonly releasedAt?: number;
}

export interface ResourceWrite {
  readonly time: number;
  readonly process: number;
  readonly token: number;
  readonly accepted: boolean;
}

export interface LockLog {
  readonly holds: readonly LockHold[];
  /** Every attempt, in the order the resource handled them. */
  readonly writes: readonly ResourceWrite[];
}

export type LockFindingKind =
  | "token-regressed"
  | "wrongly-rejected"
  | "shared-token"
  | "interleaved-holders"
  | "holds-overlapped";

export interface LockFinding {
  readonly kind: LockFindingKind;
  readonly description: string;
  /** Position in `writes` of the write the finding is about, if any. */
  readonly writeIndex?: number;
}

export interface LockResult {
  readonly valid: boolean;
  readonly fenced: boolean;
  readonly acceptedWrites: number;
  readonly rejectedWrites: number;
  readonly violations: readonly LockFinding[];
  readonly violationCount: number;
  readonly observations: readonly LockFinding[];
  readonly observationCount: number;
}

/** Findings kept per list; violationCount/observationCount give the totals. */
const MAX_FINDINGS = 100;

export function checkLock(log: LockLog, options: { readonly fenced: boolean }): LockResult {
  const violations: LockFinding[] = [];
  const observations: LockFinding[] = [];
  const ordering = orderingFindings(log.writes, options.fenced);
  (options.fenced ? violations : observations).push(...ordering);
  violations.push(...sharedTokens(log));
  observations.push(...overlappingHolds(log.holds));
  const accepted = log.writes.filter((w) => w.accepted).length;
  return {
    valid: violations.length === 0,
    fenced: options.fenced,
    acceptedWrites: accepted,
    rejectedWrites: log.writes.length - accepted,
    violations: violations.slice(0, MAX_FINDINGS),
    violationCount: violations.length,
    observations: observations.slice(0, MAX_FINDINGS),
    observationCount: observations.length,
  };
}

/** Token order and holder interleaving among accepted writes, in resource order. */
function orderingFindings(writes: readonly ResourceWrite[], fenced: boolean): LockFinding[] {
  const findings: LockFinding[] = [];
  let highest = Number.NEGATIVE_INFINITY;
  let current: string | undefined;
  const finished = new Set<string>(); // holders another holder's accepted write came after
  for (const [writeIndex, w] of writes.entries()) {
    if (!w.accepted) {
      if (fenced && w.token >= highest) {
        findings.push({
          kind: "wrongly-rejected",
          writeIndex,
          description: `write ${writeIndex} by p${w.process} with token ${w.token} was rejected though the highest accepted token was ${highest}`,
        });
      }
      continue;
    }
    if (w.token < highest) {
      findings.push({
        kind: "token-regressed",
        writeIndex,
        description: `write ${writeIndex} by p${w.process} was accepted with token ${w.token} after token ${highest}`,
      });
    }
    highest = Math.max(highest, w.token);
    const holder = holderOf(w);
    if (holder !== current) {
      if (finished.has(holder)) {
        findings.push({
          kind: "interleaved-holders",
          writeIndex,
          description: `write ${writeIndex}: p${w.process} (token ${w.token}) wrote again after ${current ?? "?"} had written`,
        });
      }
      if (current !== undefined) finished.add(current);
      current = holder;
    }
  }
  return findings;
}

function holderOf(x: { readonly process: number; readonly token: number }): string {
  return `p${x.process}/token ${x.token}`;
}

/** A token names one grant of the lock: two processes with one token means a double grant. */
function sharedTokens(log: LockLog): LockFinding[] {
  const owners = new Map<number, number>();
  const findings: LockFinding[] = [];
  const reported = new Set<number>();
  const claims = [
    ...log.holds.map((h) => ({ process: h.process, token: h.token, writeIndex: undefined })),
    ...log.writes.flatMap((w, writeIndex) =>
      w.accepted ? [{ process: w.process, token: w.token, writeIndex }] : [],
    ),
  ];
  for (const claim of claims) {
    const owner = owners.get(claim.token);
    if (owner === undefined) {
      owners.set(claim.token, claim.process);
    } else if (owner !== claim.process && !reported.has(claim.token)) {
      reported.add(claim.token);
      findings.push({
        kind: "shared-token",
        ...(claim.writeIndex !== undefined ? { writeIndex: claim.writeIndex } : {}),
        description: `token ${claim.token} was used by both p${owner} and p${claim.process}`,
      });
    }
  }
  return findings;
}

/** Holds whose client-side intervals overlap in real time. */
function overlappingHolds(holds: readonly LockHold[]): LockFinding[] {
  const sorted = [...holds].sort((a, b) => a.acquiredAt - b.acquiredAt);
  const findings: LockFinding[] = [];
  for (const [i, a] of sorted.entries()) {
    const aEnd = a.releasedAt ?? Number.POSITIVE_INFINITY;
    for (const b of sorted.slice(i + 1)) {
      if (b.acquiredAt >= aEnd) break;
      if (b.process === a.process && b.token === a.token) continue;
      findings.push({
        kind: "holds-overlapped",
        description: `${holderOf(a)} held from ${a.acquiredAt} to ${a.releasedAt ?? "∞"} ms while ${holderOf(b)} acquired at ${b.acquiredAt} ms`,
      });
      if (findings.length >= MAX_FINDINGS) return findings;
    }
  }
  return findings;
}

/** The lock workload's resource record: one per accepted write, with its holder's times. */
export interface AcceptedWriteRecord {
  readonly token: number;
  readonly holder: number;
  readonly acquiredAt: number;
  readonly writtenAt: number;
  readonly releasedAt: number | null;
}

/**
 * A LockLog from a resource that keeps only accepted writes (rejections are
 * then invisible, so "wrongly-rejected" cannot be detected from it).
 */
export function lockLogFromAcceptedWrites(writes: readonly AcceptedWriteRecord[]): LockLog {
  const holds = new Map<string, LockHold>();
  for (const w of writes) {
    const id = holderOf({ process: w.holder, token: w.token });
    if (holds.has(id)) continue;
    holds.set(id, {
      process: w.holder,
      token: w.token,
      acquiredAt: w.acquiredAt,
      ...(w.releasedAt !== null ? { releasedAt: w.releasedAt } : {}),
    });
  }
  return {
    holds: [...holds.values()],
    writes: writes.map((w) => ({
      time: w.writtenAt,
      process: w.holder,
      token: w.token,
      accepted: true,
    })),
  };
}
