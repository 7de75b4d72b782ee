// Watch guarantees (the names etcd's robustness tests use), judged against
// the acknowledged writes whose revisions are known. A write whose revision
// is unknown (an indeterminate put) can neither be required nor contradicted.
//
// Public API:
//   interface AckedWrite { key; revision; type: "put" | "delete"; value? }
//   type WatchEvent = AckedWrite
//   interface WatchFilter { key: string; prefix?: boolean }
//   interface WatchSession { startRevision; responses: WatchEvent[][]; progressRevision? }
//   interface WatcherLog { watcher: string; filter: WatchFilter; sessions: WatchSession[] }
//   type WatchProperty = "ordered" | "unique" | "atomic" | "reliable" | "resumable"
//                      | "bookmarkable" | "filtered" | "consistent"
//   interface WatchViolation { property; watcher; revision?; key?; description }
//   interface WatchResult { valid: boolean; watchers; events; violations; violationCount }
//   function checkWatch(writes: readonly AckedWrite[], watchers: readonly WatcherLog[]): WatchResult
//
// A session is one watch stream; the sessions after the first are reconnects,
// which the workload starts at the last revision it saw + 1.

import { canonicalValue } from "./register.js";

export interface AckedWrite {
  readonly key: string;
  readonly revision: number;
  readonly type: "put" | "delete";
  readonly value?: unknown;
}

export type WatchEvent = AckedWrite;

/** One key, or (prefix) every key starting with `key`. */
export interface WatchFilter {
  readonly key: string;
  readonly prefix?: boolean;
}

export interface WatchSession {
  readonly startRevision: number;
  /** One entry per watch response, in arrival order. */
  readonly responses: readonly (readonly WatchEvent[])[];
  /** The highest progress-notify revision received: every event up to it was delivered. */
  readonly progressRevision?: number;
}

export interface WatcherLog {
  readonly watcher: string;
  readonly filter: WatchFilter;
  readonly sessions: readonly WatchSession[];
}

export type WatchProperty =
  | "ordered"
  | "unique"
  | "atomic"
  | "reliable"
  | "resumable"
  | "bookmarkable"
  | "filtered"
  | "consistent";

export interface WatchViolation {
  readonly property: WatchProperty;
  readonly watcher: string;
  readonly revision?: number;
  readonly key?: string;
  readonly description: string;
}

export interface WatchResult {
  readonly valid: boolean;
  readonly watchers: number;
  readonly events: number;
  readonly violations: readonly WatchViolation[];
  readonly violationCount: number;
}

/** Violations kept in the result; violationCount has the total. */
const MAX_VIOLATIONS = 100;

export function matchesFilter(filter: WatchFilter, key: string): boolean {
  return filter.prefix === true ? key.startsWith(filter.key) : key === filter.key;
}

const eventId = (e: { key: string; revision: number }): string => `${e.revision}\u0000${e.key}`;
const content = (e: WatchEvent): string => `${e.type} ${canonicalValue(e.value)}`;

export function checkWatch(
  writes: readonly AckedWrite[],
  watchers: readonly WatcherLog[],
): WatchResult {
  const shared: Shared = {
    writes,
    acked: new Map(writes.map((w) => [eventId(w), w])),
    delivered: new Map(),
  };
  const violations: WatchViolation[] = [];
  let events = 0;
  for (const log of watchers) {
    const checked = checkWatcher(log, shared);
    events += checked.events;
    violations.push(...checked.violations.map((v) => ({ watcher: log.watcher, ...v })));
  }
  return {
    valid: violations.length === 0,
    watchers: watchers.length,
    events,
    violations: violations.slice(0, MAX_VIOLATIONS),
    violationCount: violations.length,
  };
}

type Finding = Omit<WatchViolation, "watcher">;

interface Shared {
  readonly writes: readonly AckedWrite[];
  readonly acked: ReadonlyMap<string, AckedWrite>;
  /** What the first watcher to deliver (key, revision) said, to compare the rest with. */
  readonly delivered: Map<string, { watcher: string; content: string }>;
}

/** What one watcher has received so far, across its sessions. */
interface Progress {
  readonly seen: Set<string>;
  /** revision → "session/response" that delivered it. */
  readonly revisionResponse: Map<number, string>;
  previousRevision: number;
}

function checkWatcher(log: WatcherLog, shared: Shared): { events: number; violations: Finding[] } {
  const found: Finding[] = [];
  const progress: Progress = {
    seen: new Set(),
    revisionResponse: new Map(),
    previousRevision: Number.NEGATIVE_INFINITY,
  };
  let events = 0;
  for (const [s, session] of log.sessions.entries()) {
    const received = new Set<string>();
    let lastRevision: number | undefined;
    for (const [r, response] of session.responses.entries()) {
      for (const event of response) {
        events += 1;
        found.push(...checkEvent(event, log, session, `${s}/${r}`, progress, shared));
        received.add(eventId(event));
        lastRevision = Math.max(lastRevision ?? event.revision, event.revision);
      }
    }
    found.push(...missing(shared.writes, log.filter, session, received, lastRevision, s));
  }
  return { events, violations: found };
}

function checkEvent(
  event: WatchEvent,
  log: WatcherLog,
  session: WatchSession,
  where: string,
  progress: Progress,
  shared: Shared,
): Finding[] {
  const found: Finding[] = [];
  const at = { revision: event.revision, key: event.key };
  const add = (property: WatchProperty, description: string): void => {
    found.push({ property, ...at, description });
  };
  const id = eventId(event);
  const name = JSON.stringify(event.key);
  if (!matchesFilter(log.filter, event.key))
    add("filtered", `event for ${name} is outside the watch`);
  if (event.revision < session.startRevision) {
    add(
      "resumable",
      `session started at ${session.startRevision} but delivered revision ${event.revision}`,
    );
  }
  if (event.revision < progress.previousRevision) {
    add("ordered", `revision ${event.revision} arrived after ${progress.previousRevision}`);
  }
  progress.previousRevision = Math.max(progress.previousRevision, event.revision);
  const duplicate = progress.seen.has(id);
  if (duplicate) add("unique", `revision ${event.revision} of ${name} delivered again`);
  progress.seen.add(id);
  const firstResponse = progress.revisionResponse.get(event.revision);
  // A duplicate is reported once, as unique, not also as a split revision.
  if (!duplicate && firstResponse !== undefined && firstResponse !== where) {
    add(
      "atomic",
      `revision ${event.revision} split across responses ${firstResponse} and ${where}`,
    );
  }
  progress.revisionResponse.set(event.revision, where);
  const expected = shared.acked.get(id);
  if (expected !== undefined && content(expected) !== content(event)) {
    add("consistent", `delivered ${content(event)}, acknowledged ${content(expected)}`);
  }
  const other = shared.delivered.get(id);
  if (other === undefined)
    shared.delivered.set(id, { watcher: log.watcher, content: content(event) });
  else if (other.content !== content(event)) {
    add("consistent", `delivered ${content(event)}, watcher ${other.watcher} got ${other.content}`);
  }
  return found;
}

/**
 * Acknowledged writes the session should have delivered but did not: those
 * in [start, last event] (reliable; before the first event after a reconnect,
 * resumable; inside a partly delivered revision, atomic) and those up to a
 * progress notification beyond the last event (bookmarkable).
 */
function missing(
  writes: readonly AckedWrite[],
  filter: WatchFilter,
  session: WatchSession,
  received: ReadonlySet<string>,
  lastRevision: number | undefined,
  sessionIndex: number,
): Finding[] {
  const end = Math.max(
    lastRevision ?? Number.NEGATIVE_INFINITY,
    session.progressRevision ?? Number.NEGATIVE_INFINITY,
  );
  const receivedRevisions = new Set([...received].map((id) => Number(id.split("\u0000")[0])));
  const firstRevision = Math.min(...receivedRevisions);
  const found: Finding[] = [];
  for (const w of writes) {
    if (w.revision < session.startRevision || w.revision > end) continue;
    if (!matchesFilter(filter, w.key) || received.has(eventId(w))) continue;
    const property: WatchProperty = receivedRevisions.has(w.revision)
      ? "atomic"
      : lastRevision === undefined || w.revision > lastRevision
        ? "bookmarkable"
        : sessionIndex > 0 && w.revision < firstRevision
          ? "resumable"
          : "reliable";
    found.push({
      property,
      revision: w.revision,
      key: w.key,
      description: `session ${sessionIndex} (from revision ${session.startRevision}) never delivered revision ${w.revision} of ${JSON.stringify(w.key)}`,
    });
  }
  return found;
}
