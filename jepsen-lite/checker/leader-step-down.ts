// Check-quorum's promise, judged from the nemesis log: a leader cut off from
// a majority steps down within two election timeouts, so its clients get "no
// leader" and fail over instead of waiting on a leader that can commit
// nothing. The partition nemesis samples every member without a quorum just
// before it heals a partition older than the bound (nemesis.ts
// leadersWithoutQuorum); here any member that still claimed to lead is a
// violation. Members that did not answer are reported, not judged.
import type { NemesisEvent } from "../nemesis/nemesis.js";

export interface StepDownSample {
  readonly heldMs: number;
  readonly boundMs: number;
  readonly withoutQuorum: readonly string[];
  readonly stillLeading: readonly string[];
  readonly unknown: readonly string[];
}

export interface StepDownViolation {
  readonly fault: string;
  /** When the partition healed (ms since run start). */
  readonly time: number;
  readonly members: readonly string[];
  readonly heldMs: number;
  readonly description: string;
}

export interface StepDownResult {
  readonly valid: boolean;
  readonly checker: string;
  /** Partitions held past the bound, i.e. the ones judged. */
  readonly judged: number;
  readonly unanswered: number;
  readonly violations: readonly StepDownViolation[];
}

function sampleOf(event: NemesisEvent): StepDownSample | null {
  const sample = event.detail.stepDown;
  if (typeof sample !== "object" || sample === null) return null;
  return sample as StepDownSample;
}

export function checkLeaderStepDown(events: readonly NemesisEvent[]): StepDownResult {
  let judged = 0;
  let unanswered = 0;
  const violations: StepDownViolation[] = [];
  for (const event of events) {
    if (event.kind !== "stop") continue;
    const sample = sampleOf(event);
    if (sample === null) continue;
    judged++;
    unanswered += sample.unknown.length;
    if (sample.stillLeading.length > 0) {
      violations.push({
        fault: event.fault,
        time: event.time,
        members: sample.stillLeading,
        heldMs: sample.heldMs,
        description: `${sample.stillLeading.join(",")} still led ${sample.heldMs} ms into ${event.fault}, cut off from a majority (bound ${sample.boundMs} ms)`,
      });
    }
  }
  return {
    valid: violations.length === 0,
    checker: "a leader cut off from a majority steps down (check-quorum)",
    judged,
    unanswered,
    violations,
  };
}
