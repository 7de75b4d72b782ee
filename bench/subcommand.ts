// Benchmark modes with their own flags and report (failover, footprint), as
// opposed to the throughput/latency workloads: main.ts dispatches to them by
// name and owns the exit codes and the Ctrl-C handling.
import { parseArgs } from "node:util";
import { etcdMissingReason } from "../cluster/etcd-cluster.js";
import type { RunningTarget, TargetKind } from "./targets.js";

/** A flag was wrong: main prints the message with the mode's usage and exits 2. */
export class UsageError extends Error {}

export interface Subcommand {
  readonly name: string;
  /** Flags after the name, for the usage line. */
  readonly usage: string;
  /** `track` names the cluster being measured so Ctrl-C can stop it (null once stopped). */
  run(argv: readonly string[], track: (target: RunningTarget | null) => void): Promise<void>;
}

export type TargetChoice = TargetKind | "both";

/**
 * parseArgs that reports unknown flags and stray arguments as UsageError.
 * Every option is a string flag with a default.
 */
export function parseFlags<K extends string>(
  argv: readonly string[],
  defaults: Readonly<Record<K, string>>,
): Record<K, string> {
  const options: Record<string, { type: "string"; default: string }> = {};
  for (const [name, value] of Object.entries<string>(defaults))
    options[name] = { type: "string", default: value };
  try {
    const { values } = parseArgs({ args: [...argv], options, allowPositionals: false });
    const flags: Record<K, string> = { ...defaults };
    for (const name of Object.keys(defaults) as K[]) {
      const value = values[name];
      if (typeof value === "string") flags[name] = value;
    }
    return flags;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** A number flag within [min, max] (integers only when `integer`), or a UsageError. */
export function numberFlag(
  flag: string,
  raw: string,
  min: number,
  max: number,
  integer = true,
): number {
  const n = Number(raw);
  if (raw.trim() === "" || !(n >= min && n <= max) || (integer && !Number.isInteger(n)))
    throw new UsageError(
      `--${flag} must be ${integer ? "an integer" : "a number"} in ${min}..${max}, got "${raw}"`,
    );
  return n;
}

/** The targets --target names, after checking etcd is installed when it is one of them. */
export function targetKinds(raw: string): TargetKind[] {
  if (raw !== "cairn" && raw !== "etcd" && raw !== "both")
    throw new UsageError(`--target must be cairn, etcd or both, got "${raw}"`);
  const kinds: TargetKind[] = raw === "both" ? ["cairn", "etcd"] : [raw];
  const missing = kinds.includes("etcd") ? etcdMissingReason() : null;
  if (missing !== null) throw new UsageError(`--target ${raw} needs real etcd: ${missing}`);
  return kinds;
}

/** bench/results file name for a mode: NAME-both, NAME (cairn) or NAME-etcd, then -latest.json. */
export function resultsFileName(mode: string, kinds: readonly TargetKind[]): string {
  if (kinds.length > 1) return `${mode}-both-latest.json`;
  return kinds[0] === "etcd" ? `${mode}-etcd-latest.json` : `${mode}-latest.json`;
}
