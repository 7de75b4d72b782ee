// Test-only switches that each plant one classic bug, so that jepsen-lite's
// checkers can prove they catch it. Parsed from --unsafe (refused without
// --unsafe-test-mode), announced loudly at start, exposed in /metrics, and
// handed to the one place each acts; with none on, every path is the safe one.
import type { Role } from "../raft/types.js";
import type { Logger } from "./logger.js";

export const UNSAFE_SWITCHES = [
  "stale-reads",
  "no-read-index",
  "no-fsync",
  "no-quorum-check",
  "early-lock-grant",
  "watch-skip",
] as const;

export type UnsafeSwitch = (typeof UNSAFE_SWITCHES)[number];
export type UnsafeSwitches = ReadonlySet<UnsafeSwitch>;

export const NO_UNSAFE_SWITCHES: UnsafeSwitches = new Set();

/** watch-skip: each stream drops the event whose count reaches a multiple of this. */
export const WATCH_SKIP_EVERY_EVENTS = 1000;

/**
 * no-fsync: how long unsynced writes stay in the emulated page cache
 * (storage/write-behind.ts) before they reach LevelDB; Linux's flusher wakes
 * every 5 s by default (vm.dirty_writeback_centisecs = 500).
 */
export const NO_FSYNC_WRITEBACK_MS = 5_000;

/**
 * What each switch breaks, for the startup warning and the docs.
 * no-quorum-check turns the core's checkQuorum off, which also ends the leader
 * lease: followers that hear from a leader no longer ignore (pre-)votes, so a
 * member back from a partition with an up-to-date log can win a pre-vote and
 * depose a healthy leader. Pre-vote still stops members whose log is behind.
 */
export const UNSAFE_EFFECTS: Readonly<Record<UnsafeSwitch, string>> = {
  "stale-reads": "followers answer linearizable reads from local state, without the leader",
  "no-read-index": "the leader answers linearizable reads without a ReadIndex quorum round",
  "no-fsync": `Raft entries and hard state are acknowledged without fsync; unsynced writes sit ${NO_FSYNC_WRITEBACK_MS} ms in an emulated page cache, so a SIGKILL loses them as a power cut would`,
  "no-quorum-check": "a leader that lost its quorum keeps leading (check-quorum off)",
  "early-lock-grant": "Lock and Locks.Acquire answer before the claim is the oldest",
  "watch-skip": `watch streams drop every ${WATCH_SKIP_EVERY_EVENTS}th event they send`,
};

export function isUnsafeSwitch(name: string): name is UnsafeSwitch {
  return (UNSAFE_SWITCHES as readonly string[]).includes(name);
}

/**
 * Whether a linearizable read barrier is skipped on a member in `role`:
 * stale-reads skips it everywhere but on the leader, no-read-index on the leader.
 */
export function skipsReadBarrier(switches: UnsafeSwitches, role: Role): boolean {
  return role === "leader" ? switches.has("no-read-index") : switches.has("stale-reads");
}

/** One "UNSAFE" warning per switch, so nobody mistakes this member for a safe one. */
export function warnUnsafeSwitches(logger: Logger, switches: UnsafeSwitches): void {
  for (const name of switches) {
    logger.warn(
      { unsafe: name, effect: UNSAFE_EFFECTS[name] },
      `UNSAFE: ${name} planted for testing; this member is not safe`,
    );
  }
}

/**
 * watch-skip's per-stream counter: deterministic, so a test knows which event
 * went missing (the 1000th, 2000th, … event the stream would have sent).
 */
export class EventSkipper {
  private sent = 0;

  constructor(private readonly everyEvents: number) {}

  /** `events` minus those whose ordinal on this stream is a multiple of everyEvents. */
  filter<T>(events: readonly T[]): readonly T[] {
    const start = this.sent;
    this.sent += events.length;
    const firstDropped = Math.ceil((start + 1) / this.everyEvents) * this.everyEvents;
    if (firstDropped > this.sent) return events;
    return events.filter((_, i) => (start + i + 1) % this.everyEvents !== 0);
  }
}
