// What `npm run jepsen:full` runs, as data: the acceptance runs (every
// nemesis and workload on cairn, which must come out valid), the etcd
// calibration runs (a real etcd 3.4 must come out valid too, or the checkers
// are wrong), and the self-tests (each planted bug must be caught, and the
// same run without it must be valid). Pure: full.ts executes it.

export type SuiteGroup = "acceptance" | "etcd" | "planted" | "control";

export interface SuiteRun {
  readonly name: string;
  readonly group: SuiteGroup;
  /** Flags for `jepsen-lite/cli.js`. */
  readonly args: readonly string[];
  /** What the run must end as for the suite to pass. */
  readonly expect: "valid" | "invalid";
}

export interface SuiteOptions {
  readonly acceptanceRuns: number;
  readonly acceptanceTimeSec: number;
  /** Runs per planted bug (each with its own seed), and as many controls. */
  readonly plantedRuns: number;
  readonly etcdRuns: number;
  /** etcd runs get partitions only with the root backend (etcd dials its advertised peer URLs). */
  readonly rootNet: boolean;
  readonly seed: number;
  readonly only?: readonly SuiteGroup[];
  /** Only these planted bugs (and their controls); default all. */
  readonly bugs?: readonly string[];
}

export const ALL_NEMESES = "partition,kill,pause,slow,member,snapshot";
export const ALL_WORKLOADS = "register,lock,lock-unfenced,lease,watch,platform";

/**
 * Each planted bug with the run that exposes it: the nemesis that opens its
 * window and a workload that looks there. Why each needs what it needs is in
 * jepsen-lite/README.md ("Planted bugs").
 */
export const PLANTED: readonly { readonly bug: string; readonly args: readonly string[] }[] = [
  {
    bug: "stale-reads",
    args: ["--time", "30", "--nemesis", "partition", "--workload", "register"],
  },
  {
    bug: "no-read-index",
    // The stale window is short (check-quorum deposes the old leader within two
    // election timeouts), so: many short isolations, many readers, few keys.
    args: [
      ...["--time", "45", "--nemesis", "partition-isolate-leader", "--workload", "register"],
      ...["--keys", "3", "--workers", "15", "--quiet-ms", "1000,1500", "--hold-scale", "0.4"],
    ],
  },
  {
    bug: "no-quorum-check",
    args: ["--time", "30", "--nemesis", "partition-isolate-leader", "--workload", "register"],
  },
  { bug: "no-fsync", args: ["--time", "30", "--nemesis", "kill", "--workload", "register"] },
  { bug: "early-lock-grant", args: ["--time", "30", "--nemesis", "pause", "--workload", "lock"] },
  { bug: "watch-skip", args: ["--time", "45", "--nemesis", "partition", "--workload", "watch"] },
];

function wanted(options: SuiteOptions, group: SuiteGroup): boolean {
  return options.only === undefined || options.only.includes(group);
}

export function suiteRuns(options: SuiteOptions): SuiteRun[] {
  const runs: SuiteRun[] = [];
  let seed = options.seed;
  if (wanted(options, "acceptance")) {
    for (let i = 0; i < options.acceptanceRuns; i++) {
      const nodes = i % 2 === 0 ? "3" : "5";
      runs.push({
        name: `acceptance ${i + 1}/${options.acceptanceRuns} (${nodes} nodes)`,
        group: "acceptance",
        args: [
          ...["--nodes", nodes, "--time", String(options.acceptanceTimeSec)],
          ...["--nemesis", ALL_NEMESES, "--workload", ALL_WORKLOADS, "--seed", String(seed++)],
        ],
        expect: "valid",
      });
    }
  }
  if (wanted(options, "etcd")) {
    const nemesis = options.rootNet ? "partition,kill,pause" : "kill,pause";
    const net = options.rootNet ? ["--net", "root"] : [];
    for (let i = 0; i < options.etcdRuns; i++) {
      runs.push({
        name: `etcd ${i + 1}/${options.etcdRuns} (${nemesis})`,
        group: "etcd",
        args: [
          ...["--target", "etcd", ...net, "--time", "90", "--nemesis", nemesis],
          ...["--workload", "register,lease,watch", "--seed", String(seed++)],
        ],
        expect: "valid",
      });
    }
  }
  for (const planted of PLANTED.filter((p) => options.bugs?.includes(p.bug) ?? true)) {
    for (let i = 0; i < options.plantedRuns; i++) {
      const runSeed = String(seed++);
      if (wanted(options, "planted")) {
        runs.push({
          name: `planted ${planted.bug} ${i + 1}/${options.plantedRuns}`,
          group: "planted",
          args: [...planted.args, "--unsafe", planted.bug, "--seed", runSeed],
          expect: "invalid",
        });
      }
      if (wanted(options, "control")) {
        runs.push({
          name: `control for ${planted.bug} ${i + 1}/${options.plantedRuns}`,
          group: "control",
          args: [...planted.args, "--seed", runSeed],
          expect: "valid",
        });
      }
    }
  }
  return runs;
}
