// The nemesis schedule as a pure function of a seed: one fault at a time,
// each held for a drawn time and then healed, with a quiet gap (jittered)
// before the next. Every fault's heal lands before the load phase ends, and
// the number of faults is bounded by the run's length.
import { Rng } from "../runner/rng.js";
import { type FaultKind, holdRangeMs, kindsOfNames, type NemesisName } from "./faults.js";

export interface PlannedFault {
  readonly kind: FaultKind;
  /** ms since the run started */
  readonly startMs: number;
  readonly stopMs: number;
  /** Seeds the fault's own choices (targets, link shapes) at run time. */
  readonly seed: number;
}

export interface PlanOptions {
  readonly seed: number;
  /** Families and single kinds, as --nemesis lists them. */
  readonly families: readonly NemesisName[];
  readonly nodes: number;
  /** Length of the load phase; every fault is healed by then minus tailMs. */
  readonly durationMs: number;
  /** Quiet time before the first fault and between a heal and the next fault. */
  readonly quietMs?: readonly [number, number];
  /** Scales every hold (the smoke test uses < 1 to fit more faults in). */
  readonly holdScale?: number;
  /** Time left fault-free at the end of the load phase. */
  readonly tailMs?: number;
}

export const QUIET_MS_DEFAULT: readonly [number, number] = [2_000, 4_000];
/** A bound on planned faults whatever the durations say. */
export const PLANNED_FAULTS_MAX = 10_000;

export function planFaults(options: PlanOptions): PlannedFault[] {
  const rng = new Rng(options.seed);
  const kinds = kindsOfNames(options.families, options.nodes);
  const [quietMin, quietMax] = options.quietMs ?? QUIET_MS_DEFAULT;
  const holdScale = options.holdScale ?? 1;
  const endMs = options.durationMs - (options.tailMs ?? 1_000);
  const plan: PlannedFault[] = [];
  if (kinds.length === 0) return plan;
  // Cycle through shuffled rounds of every kind, so a short run still covers each once.
  let round: FaultKind[] = [];
  let atMs = rng.between(quietMin, quietMax);
  while (plan.length < PLANNED_FAULTS_MAX) {
    if (round.length === 0) round = rng.shuffle(kinds);
    const kind = round.pop() as FaultKind;
    const [holdMin, holdMax] = holdRangeMs(kind);
    const holdMs = Math.round(rng.between(holdMin, holdMax) * holdScale);
    const seed = rng.int(0, 2 ** 31);
    if (atMs + holdMs > endMs) break;
    plan.push({ kind, startMs: Math.round(atMs), stopMs: Math.round(atMs + holdMs), seed });
    atMs += holdMs + rng.between(quietMin, quietMax);
  }
  return plan;
}
