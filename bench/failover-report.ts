// The arithmetic of the failover benchmark, kept apart from the processes so
// it can be tested: how long writes were unavailable after the kill, the
// median/min/max over trials, and the table that compares the targets.
import { type CompareRow, compareTable } from "./compare-table.js";
import { type Spread, spread } from "./stats.js";
import type { TargetKind } from "./targets.js";

/** One put of the write stream, times from performance.now(). */
export interface WriteRecord {
  readonly sentAtMs: number;
  /** When the reply or the error arrived. */
  readonly doneAtMs: number;
  readonly ok: boolean;
}

/**
 * Unavailability: from the kill to the first acknowledged write that was
 * *sent* at or after the kill. A write sent before the kill and acknowledged
 * after it proves nothing about the new leader (the old one may have
 * committed it just before dying), so it does not count. Null when no such
 * write succeeded.
 */
export function unavailabilityMs(records: readonly WriteRecord[], killAtMs: number): number | null {
  let firstAckMs: number | null = null;
  for (const record of records) {
    if (!record.ok || record.sentAtMs < killAtMs) continue;
    if (firstAckMs === null || record.doneAtMs < firstAckMs) firstAckMs = record.doneAtMs;
  }
  return firstAckMs === null ? null : firstAckMs - killAtMs;
}

/** Writes sent at or after the kill that failed (errors or deadline), the cost clients saw. */
export function failedAfterKill(records: readonly WriteRecord[], killAtMs: number): number {
  return records.filter((r) => !r.ok && r.sentAtMs >= killAtMs).length;
}

export interface FailoverTrial {
  readonly trial: number;
  readonly killedEndpoint: string;
  readonly killedPid: number;
  /** Null when writes did not come back within the recovery timeout. */
  readonly unavailabilityMs: number | null;
  /** Kill → a survivor's Maintenance.Status names a leader other than the killed one; null on timeout. */
  readonly newLeaderMs: number | null;
  readonly writesSent: number;
  readonly writesAckedBeforeKill: number;
  readonly writesFailedAfterKill: number;
}

export interface FailoverSummary {
  readonly trials: number;
  /** Trials in which writes never came back within the recovery timeout. */
  readonly unrecovered: number;
  readonly unavailabilityMs: Spread | null;
  readonly newLeaderMs: Spread | null;
}

export function summarizeTrials(trials: readonly FailoverTrial[]): FailoverSummary {
  const measured = (pick: (t: FailoverTrial) => number | null): number[] =>
    trials.flatMap((t) => {
      const value = pick(t);
      return value === null ? [] : [value];
    });
  return {
    trials: trials.length,
    unrecovered: trials.filter((t) => t.unavailabilityMs === null).length,
    unavailabilityMs: spread(measured((t) => t.unavailabilityMs)),
    newLeaderMs: spread(measured((t) => t.newLeaderMs)),
  };
}

function spreadCell(s: Spread | null): { value: number; text: string } | null {
  if (s === null) return null;
  return {
    value: s.median,
    text: `${s.median.toFixed(0)} [${s.min.toFixed(0)}–${s.max.toFixed(0)}]`,
  };
}

/** Medians with [min–max] per target; the ratio column compares the medians. */
export function failoverTable(
  kinds: readonly TargetKind[],
  summaries: Partial<Record<TargetKind, FailoverSummary>>,
): string {
  const rows: CompareRow[] = [
    {
      measure: "unavailable ms (kill → first ack of a put sent after it)",
      cells: Object.fromEntries(
        kinds.map((k) => [k, spreadCell(summaries[k]?.unavailabilityMs ?? null)]),
      ),
    },
    {
      measure: "new leader ms (kill → a survivor's Status names it)",
      cells: Object.fromEntries(
        kinds.map((k) => [k, spreadCell(summaries[k]?.newLeaderMs ?? null)]),
      ),
    },
    {
      measure: "trials (unrecovered)",
      ratio: false,
      cells: Object.fromEntries(
        kinds.map((k) => {
          const s = summaries[k];
          return [
            k,
            s === undefined ? null : { value: s.trials, text: `${s.trials} (${s.unrecovered})` },
          ];
        }),
      ),
    },
  ];
  return compareTable(kinds, rows);
}
