// What every workload gives the runner: workers that loop until told to stop,
// each recording into the shared history, and (optionally) a final phase.
import type { History } from "../runner/history.js";
import type { Rng } from "../runner/rng.js";
import type { Endpoints } from "./endpoints.js";

export interface WorkloadContext {
  readonly history: History;
  readonly endpoints: Endpoints;
  readonly rng: Rng;
  /** Aborted when the load phase ends; workers finish their current op and return. */
  readonly signal: AbortSignal;
  /** Per-op deadline. */
  readonly opTimeoutMs: number;
  /** Pause between one worker's ops, so the rate stays low on 2 cores. */
  readonly opGapMs: number;
  /** Run-unique values: one counter for the whole run. */
  readonly nextValue: () => number;
  /**
   * Run-unique lease ids below 2^53, asked for by the client: the codec reads
   * int64 as a JS number, so ids etcd picks itself (often > 2^53) would not
   * round-trip.
   */
  readonly nextLeaseId: () => number;
}

/** What a workload's final step gets: the members, once healed and with a leader. */
export interface FinishContext {
  readonly endpoints: Endpoints;
  /** The whole step's deadline; each call still has its own. */
  readonly timeoutMs: number;
}

export interface Workload {
  readonly name: string;
  /** Run until ctx.signal aborts; bounded by it in time and by opsMax in count. */
  run(ctx: WorkloadContext): Promise<void>;
  /**
   * Optional final step, called by the runner after the heal once a leader
   * is back (e.g. read the state the checker compares with the history).
   */
  finish?(ctx: FinishContext): Promise<void>;
  /** Workload-specific results for results.json (e.g. accepted lock writes). */
  summary(): Record<string, unknown>;
}

/**
 * Worker i's endpoint policy: pinned to one member (like etcd's 6 pinned
 * clients), or any member per op (the 2 multi-endpoint ones).
 */
export function endpointChooser(
  worker: number,
  names: readonly string[],
  rng: Rng,
): { readonly pinned: string | null; choose(): string } {
  const pinned = worker % 4 === 3 ? null : (names[worker % names.length] ?? null);
  return {
    pinned,
    choose: () => pinned ?? rng.pick(names),
  };
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((done) => {
    if (signal?.aborted === true) {
      done();
      return;
    }
    const timer = setTimeout(finish, ms);
    function finish(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", finish);
      done();
    }
    signal?.addEventListener("abort", finish, { once: true });
  });
}

/** Back-off after consecutive indeterminate ops: each one may linger in the
 * history forever (it can take effect at any later time), so a worker facing
 * a dead member should not pile them up. */
export const INFO_BACKOFF_MS_MIN = 250;
export const INFO_BACKOFF_MS_MAX = 2_000;

export function infoBackoffMs(consecutiveInfos: number): number {
  if (consecutiveInfos <= 0) return 0;
  return Math.min(INFO_BACKOFF_MS_MAX, INFO_BACKOFF_MS_MIN * 2 ** (consecutiveInfos - 1));
}
