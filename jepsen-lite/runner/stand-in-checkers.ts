// Minimal stand-in checkers until jepsen-lite/checker/ is merged. They test
// necessary conditions only (a pass is weaker than the real checkers' pass):
// register — every ok read returns null or a value some write to that key
// had been invoked with before the read returned; lock — of two sessions
// where one's acquire returned before the other's began, the resource
// never accepted the first's write after the second's (a stale holder), and
// tokens follow real-time order; lease — a key is never read gone earlier
// than TTL − 500 ms after its grant returned, nor present after it was gone.
import type { WatchObserved } from "../workloads/watch.js";
import type { HistoryOp } from "./history.js";

export type Validity = boolean | "unknown";

/** What every checker returns (the real ones' result interfaces fit it too). */
export interface CheckerResult {
  readonly valid: Validity;
}

/** A stand-in's or the runner's result: validity plus details for results.json. */
export type DetailedResult = CheckerResult & Readonly<Record<string, unknown>>;

export function unknownResult(reason: string): DetailedResult {
  return { valid: "unknown", reason };
}

/** Bounds the anomalies listed in results.json. */
const ANOMALIES_MAX = 20;

export function getOrInsert<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

function completions(history: readonly HistoryOp[]): Map<number, HistoryOp> {
  // The op that completes the invoke at index i: the next record of the same process.
  const open = new Map<number, HistoryOp>();
  const done = new Map<number, HistoryOp>();
  for (const op of history) {
    if (op.type === "invoke") open.set(op.process, op);
    else {
      const invoke = open.get(op.process);
      if (invoke !== undefined) done.set(invoke.index, op);
      open.delete(op.process);
    }
  }
  return done;
}

export function checkRegister(history: readonly HistoryOp[]): DetailedResult {
  const done = completions(history);
  const anomalies: unknown[] = [];
  let reads = 0;
  // In time order: a read may only return what was invoked before it returned.
  const invokedBefore = new Map<string, Map<string, number>>();
  for (const op of history) {
    if (op.key === undefined || op.type !== "invoke") continue;
    if (op.f === "write" || op.f === "cas") {
      const value = String(op.f === "write" ? op.value : (op.value as unknown[])[1]);
      const map = getOrInsert(invokedBefore, op.key, () => new Map<string, number>());
      if (!map.has(value)) map.set(value, op.time);
    }
  }
  for (const op of history) {
    if (op.f !== "read" || op.type !== "invoke" || op.key === undefined) continue;
    const result = done.get(op.index);
    if (result?.type !== "ok") continue;
    reads++;
    if (result.value === null) continue;
    const value = String(result.value);
    const invokedAt = invokedBefore.get(op.key)?.get(value);
    if (invokedAt === undefined || invokedAt > result.time) {
      if (anomalies.length < ANOMALIES_MAX) {
        anomalies.push({
          kind: invokedAt === undefined ? "never-written" : "read-before-write",
          read: result,
        });
      }
    }
  }
  return { valid: anomalies.length === 0, checker: "stand-in register", okReads: reads, anomalies };
}

interface Session {
  token: number;
  acquireInvoke: number;
  acquireOk: number;
  writeAt: number | null;
}

export function checkLock(history: readonly HistoryOp[], prefix: string): DetailedResult {
  const done = completions(history);
  const sessions = new Map<number, Session>();
  const anomalies: unknown[] = [];
  for (const op of history) {
    if (op.type !== "invoke") continue;
    const result = done.get(op.index);
    if (op.f === `${prefix}:acquire` && result?.type === "ok") {
      const token = (result.value as { token: number }).token;
      if (sessions.has(token) && anomalies.length < ANOMALIES_MAX) {
        anomalies.push({ kind: "token-reused", token });
      }
      sessions.set(token, { token, acquireInvoke: op.time, acquireOk: result.time, writeAt: null });
    }
    if (op.f === `${prefix}:write` && result?.type === "ok") {
      const session = sessions.get((op.value as { token: number }).token);
      if (session !== undefined) session.writeAt = result.time;
    }
  }
  const all = [...sessions.values()];
  for (const a of all) {
    for (const b of all) {
      if (a === b || a.acquireOk >= b.acquireInvoke) continue;
      // a was granted strictly before b asked.
      if (a.token >= b.token && anomalies.length < ANOMALIES_MAX) {
        anomalies.push({ kind: "token-order", earlier: a, later: b });
      }
      if (
        a.writeAt !== null &&
        b.writeAt !== null &&
        a.writeAt > b.writeAt &&
        anomalies.length < ANOMALIES_MAX
      ) {
        anomalies.push({ kind: "stale-holder-write", stale: a, newer: b });
      }
    }
  }
  return {
    valid: anomalies.length === 0,
    checker: `stand-in ${prefix}`,
    sessions: all.length,
    acceptedWrites: all.filter((s) => s.writeAt !== null).length,
    anomalies,
  };
}

/** Early expiry counts as an anomaly; late expiry is reported, not judged. */
const EARLY_EXPIRY_SLACK_MS = 500;

export function checkLease(history: readonly HistoryOp[]): DetailedResult {
  const done = completions(history);
  const granted = new Map<string, { okAt: number; ttlMs: number }>();
  const goneAt = new Map<string, number>();
  const anomalies: unknown[] = [];
  let lateMsMax = 0;
  for (const op of history) {
    if (op.type !== "invoke" || op.key === undefined) continue;
    const result = done.get(op.index);
    if (result?.type !== "ok") continue;
    if (op.f === "lease:grant") {
      const ttl = (result.value as { ttl: number }).ttl;
      granted.set(op.key, { okAt: result.time, ttlMs: ttl * 1000 });
    }
    if (op.f !== "lease:read") continue;
    const grant = granted.get(op.key);
    const present = (result.value as { present: boolean }).present;
    if (grant === undefined) continue;
    if (!present) {
      if (
        result.time < grant.okAt + grant.ttlMs - EARLY_EXPIRY_SLACK_MS &&
        anomalies.length < ANOMALIES_MAX
      ) {
        anomalies.push({ kind: "early-expiry", key: op.key, read: result, grantOkAt: grant.okAt });
      }
      if (!goneAt.has(op.key)) goneAt.set(op.key, result.time);
    } else {
      const gone = goneAt.get(op.key);
      if (gone !== undefined && gone < op.time && anomalies.length < ANOMALIES_MAX) {
        anomalies.push({ kind: "resurrected", key: op.key, read: result, goneAt: gone });
      }
      lateMsMax = Math.max(lateMsMax, op.time - (grant.okAt + grant.ttlMs));
    }
  }
  return {
    valid: anomalies.length === 0,
    checker: "stand-in lease",
    keys: granted.size,
    expiredSeen: goneAt.size,
    presentPastTtlMsMax: Math.round(lateMsMax),
    anomalies,
  };
}

/**
 * watch, necessary conditions: per watcher, events arrive in revision order
 * and never twice; every event matches the acknowledged write at its revision
 * (if that write's revision is known) and carries a value some writer wrote;
 * and every acknowledged write between the first session's start and the last
 * revision the watcher saw was delivered to it.
 */
export function checkWatchStandIn(
  observed: WatchObserved,
  writtenValues: ReadonlySet<string>,
): DetailedResult {
  const acked = new Map(observed.writes.map((w) => [`${w.revision}\0${w.key}`, w]));
  const anomalies: unknown[] = [];
  const note = (anomaly: unknown): void => {
    if (anomalies.length < ANOMALIES_MAX) anomalies.push(anomaly);
  };
  let events = 0;
  for (const log of observed.watchers) {
    const seen = new Set<string>();
    let last = 0;
    for (const session of log.sessions) {
      for (const response of session.responses) {
        for (const event of response) {
          events++;
          const id = `${event.revision}\0${event.key}`;
          if (event.revision < last)
            note({ kind: "unordered", watcher: log.watcher, event, after: last });
          if (seen.has(id)) note({ kind: "duplicate", watcher: log.watcher, event });
          seen.add(id);
          last = Math.max(last, event.revision);
          const write = acked.get(id);
          if (
            write !== undefined &&
            (write.type !== event.type || String(write.value) !== String(event.value))
          ) {
            note({ kind: "inconsistent", watcher: log.watcher, event, acked: write });
          }
          if (event.type === "put" && !writtenValues.has(String(event.value))) {
            note({ kind: "never-written", watcher: log.watcher, event });
          }
        }
      }
    }
    const from = log.sessions[0]?.startRevision ?? 1;
    for (const write of observed.writes) {
      if (
        write.revision >= from &&
        write.revision <= last &&
        !seen.has(`${write.revision}\0${write.key}`)
      ) {
        note({ kind: "missed", watcher: log.watcher, write });
      }
    }
  }
  return {
    valid: anomalies.length === 0,
    checker: "stand-in watch",
    watchers: observed.watchers.length,
    ackedWrites: observed.writes.length,
    events,
    anomalies,
  };
}
