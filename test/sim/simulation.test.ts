// Generated schedules against 3- and 5-node clusters, with the five safety
// properties checked after every step and liveness checked after healing.
// Environment: SIM_SEED (default random, printed in the suite name),
// SIM_CASE + SIM_PATH (replay one counterexample; the failure message prints
// the exact command), SIM_RUNS_FACTOR (multiply runs for a soak).

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { runSchedule, type SimulationParams } from "./runner.js";
import { type Schedule, scheduleArbitrary } from "./schedule.js";

const SEED = process.env.SIM_SEED
  ? Number(process.env.SIM_SEED)
  : Math.floor(Math.random() * 2 ** 31);
const PATH = process.env.SIM_PATH;
const PATH_CASE = process.env.SIM_CASE;
/** Multiplies the number of runs, for soaking: SIM_RUNS_FACTOR=20 npx vitest run test/sim. */
const RUNS_FACTOR = process.env.SIM_RUNS_FACTOR ? Number(process.env.SIM_RUNS_FACTOR) : 1;

const ELECTION_TICKS = 10;
const HEARTBEAT_TICKS = 2;
const TRACE_LINES_MAX = 300;
const SHRINK_TIME_LIMIT_MS = 60_000;

interface Totals {
  runs: number;
  ticks: number;
  checks: number;
  acked: number;
  reads: number;
  snapshotsInstalled: number;
  confChangesApplied: number;
}

function traceOf(schedule: Schedule, params: SimulationParams): string {
  const lines: string[] = [];
  try {
    runSchedule(schedule, {
      ...params,
      trace: (line) => {
        lines.push(line);
        if (lines.length > TRACE_LINES_MAX) {
          lines.shift();
        }
      },
    });
  } catch {
    // The failure itself is reported by the caller; we only want the lead-up.
  }
  return lines.join("\n");
}

/** Log compaction and membership changes on top of the basic schedules. */
interface Extras {
  readonly spares?: number;
  readonly snapshotEvery?: number;
  readonly keepEntries?: number;
}

function simulate(
  label: string,
  size: number,
  numRuns: number,
  opsMax: number,
  extras: Extras = {},
): Totals {
  const params: SimulationParams = {
    size,
    electionTicks: ELECTION_TICKS,
    heartbeatTicks: HEARTBEAT_TICKS,
    ...extras,
  };
  const totals: Totals = {
    runs: 0,
    ticks: 0,
    checks: 0,
    acked: 0,
    reads: 0,
    snapshotsInstalled: 0,
    confChangesApplied: 0,
  };
  const property = fc.property(
    scheduleArbitrary({ size, spares: extras.spares ?? 0, opsMin: 60, opsMax }),
    (schedule) => {
      const outcome = runSchedule(schedule, params);
      totals.runs += 1;
      totals.ticks += outcome.ticks;
      totals.checks += outcome.checks;
      totals.acked += outcome.proposalsAcked;
      totals.reads += outcome.readsAnswered;
      totals.snapshotsInstalled += outcome.snapshotsInstalled;
      totals.confChangesApplied += outcome.confChangesApplied;
    },
  );
  const replayPath = PATH !== undefined && PATH_CASE === label ? { path: PATH } : {};
  const details = fc.check(property, {
    seed: SEED,
    numRuns: numRuns * RUNS_FACTOR,
    // Bounds shrinking (each step replays a whole schedule); runs are counted below,
    // so an interrupted passing run cannot go unnoticed.
    interruptAfterTimeLimit: SHRINK_TIME_LIMIT_MS * RUNS_FACTOR,
    ...replayPath,
  });
  if (details.failed) {
    const counterexample = details.counterexample?.[0];
    const error = details.errorInstance;
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    throw new Error(
      [
        `simulation ${label} failed after ${details.numRuns} runs (${details.numShrinks} shrinks)`,
        `replay: SIM_SEED=${details.seed} SIM_CASE=${label} SIM_PATH="${details.counterexamplePath}" ` +
          `npx vitest run test/sim/simulation.test.ts -t "${label}"`,
        `error: ${message}`,
        `schedule: ${JSON.stringify(counterexample)}`,
        counterexample
          ? `trace (last ${TRACE_LINES_MAX} lines):\n${traceOf(counterexample, params)}`
          : "",
      ].join("\n"),
    );
  }
  return totals;
}

describe(`simulation (SIM_SEED=${SEED})`, () => {
  it(
    "3 nodes: 300 schedules keep Figure 3 safety and converge after healing",
    () => {
      const totals = simulate("3 nodes", 3, 300, 200);
      expect(totals.runs).toBeGreaterThanOrEqual(PATH_CASE === "3 nodes" ? 1 : 300);
      expect(totals.acked).toBeGreaterThan(0);
    },
    120_000 * RUNS_FACTOR,
  );

  it(
    "5 nodes: 200 schedules keep Figure 3 safety and converge after healing",
    () => {
      const totals = simulate("5 nodes", 5, 200, 200);
      expect(totals.runs).toBeGreaterThanOrEqual(PATH_CASE === "5 nodes" ? 1 : 200);
      expect(totals.acked).toBeGreaterThan(0);
    },
    120_000 * RUNS_FACTOR,
  );

  it(
    "membership: 3 voters + 2 spares, snapshots every 4 entries: 200 schedules keep safety and converge",
    () => {
      const totals = simulate("membership", 3, 200, 200, {
        spares: 2,
        snapshotEvery: 4,
        keepEntries: 2,
      });
      expect(totals.runs).toBeGreaterThanOrEqual(PATH_CASE === "membership" ? 1 : 200);
      expect(totals.acked).toBeGreaterThan(0);
      if (PATH_CASE !== "membership") {
        // The schedules must actually exercise what this case is for (a replay runs just one).
        expect(totals.snapshotsInstalled).toBeGreaterThan(0);
        expect(totals.confChangesApplied).toBeGreaterThan(0);
      }
    },
    120_000 * RUNS_FACTOR,
  );
});
