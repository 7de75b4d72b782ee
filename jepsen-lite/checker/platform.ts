// The platform workload: resources updated with an expected version, every
// mutation recorded in the operation log in the same apply. Each update
// carries a unique tag (opId) so its record can be found in the log.
//
// Public API:
//   interface PlatformUpdate { resource; opId; expectedVersion; outcome: "ok" | "fail" | "info";
//                              newVersion?; call; ret }
//   interface OpLogEntry { sequence; resource; opId?; outcome: "ok" | "refused"; version? }
//   interface FinalResource { resource; version }
//   interface PlatformInput { updates; opLog; finalState }
//   type PlatformViolationKind = ...
//   interface PlatformViolation { kind; resource?; opId?; description }
//   interface PlatformResult { valid: boolean; updates; logged; violations; violationCount }
//   function checkPlatform(input: PlatformInput): PlatformResult
//
// Acknowledged updates must be logged exactly once, at expectedVersion + 1,
// in an order that respects real time; definite failures must not be logged
// as applied; indeterminate ones may be logged or not, but at most once.
// Log records without an opId (other actors, creation) only take part in the
// per-resource version order.

export interface PlatformUpdate {
  readonly resource: string;
  readonly opId: string;
  readonly expectedVersion: number;
  /** "info" also covers updates still pending when the run ended. */
  readonly outcome: "ok" | "fail" | "info";
  /** The version in the ok response. */
  readonly newVersion?: number;
  readonly call: number;
  readonly ret: number;
}

export interface OpLogEntry {
  readonly sequence: number;
  readonly resource: string;
  readonly opId?: string;
  /** "refused" for any record of a rejected attempt. */
  readonly outcome: "ok" | "refused";
  /** The resource's version after the change. */
  readonly version?: number;
}

export interface FinalResource {
  readonly resource: string;
  readonly version: number;
}

export interface PlatformInput {
  readonly updates: readonly PlatformUpdate[];
  readonly opLog: readonly OpLogEntry[];
  readonly finalState: readonly FinalResource[];
}

export type PlatformViolationKind =
  | "acked-missing"
  | "failed-applied"
  | "phantom"
  | "duplicate"
  | "wrong-version"
  | "version-regressed"
  | "lost-update"
  | "order"
  | "final-state";

export interface PlatformViolation {
  readonly kind: PlatformViolationKind;
  readonly resource?: string;
  readonly opId?: string;
  readonly description: string;
}

export interface PlatformResult {
  readonly valid: boolean;
  readonly updates: number;
  readonly logged: number;
  readonly violations: readonly PlatformViolation[];
  readonly violationCount: number;
}

/** Violations kept in the result; violationCount has the total. */
const MAX_VIOLATIONS = 100;

export function checkPlatform(input: PlatformInput): PlatformResult {
  const log = [...input.opLog].sort((a, b) => a.sequence - b.sequence);
  const applied = new Map<string, OpLogEntry>(); // opId → its ok record
  const violations: PlatformViolation[] = [];
  for (const entry of log) {
    if (entry.outcome !== "ok" || entry.opId === undefined) continue;
    if (applied.has(entry.opId)) {
      violations.push({
        kind: "duplicate",
        resource: entry.resource,
        opId: entry.opId,
        description: `${entry.opId} applied twice (sequences ${applied.get(entry.opId)?.sequence} and ${entry.sequence})`,
      });
      continue;
    }
    applied.set(entry.opId, entry);
  }
  violations.push(
    ...matchUpdates(input.updates, applied),
    ...versionOrder(log),
    ...lostUpdates(input.updates),
    ...realTimeOrder(input.updates, applied),
    ...finalState(input, log),
  );
  return {
    valid: violations.length === 0,
    updates: input.updates.length,
    logged: applied.size,
    violations: violations.slice(0, MAX_VIOLATIONS),
    violationCount: violations.length,
  };
}

function matchUpdates(
  updates: readonly PlatformUpdate[],
  applied: ReadonlyMap<string, OpLogEntry>,
): PlatformViolation[] {
  const found: PlatformViolation[] = [];
  const issued = new Set(updates.map((u) => u.opId));
  for (const u of updates) {
    const record = applied.get(u.opId);
    const at = { resource: u.resource, opId: u.opId };
    if (u.outcome === "ok" && record === undefined) {
      found.push({
        kind: "acked-missing",
        ...at,
        description: `acknowledged ${u.opId} is not in the op log`,
      });
    }
    if (u.outcome === "fail" && record !== undefined) {
      found.push({
        kind: "failed-applied",
        ...at,
        description: `${u.opId} failed but is logged as applied at ${record.sequence}`,
      });
    }
    const versions = [record?.version, u.outcome === "ok" ? u.newVersion : undefined];
    for (const version of versions) {
      if (version !== undefined && version !== u.expectedVersion + 1) {
        found.push({
          kind: "wrong-version",
          ...at,
          description: `${u.opId} expected version ${u.expectedVersion} but produced version ${version}`,
        });
      }
    }
  }
  for (const [opId, record] of applied) {
    if (!issued.has(opId)) {
      found.push({
        kind: "phantom",
        resource: record.resource,
        opId,
        description: `op log holds ${opId}, which was never issued`,
      });
    }
  }
  return found;
}

/** Per resource, applied versions strictly increase along the log. */
function versionOrder(log: readonly OpLogEntry[]): PlatformViolation[] {
  const last = new Map<string, OpLogEntry>();
  const found: PlatformViolation[] = [];
  for (const entry of log) {
    if (entry.outcome !== "ok" || entry.version === undefined) continue;
    const previous = last.get(entry.resource);
    if (previous?.version !== undefined && entry.version <= previous.version) {
      found.push({
        kind: "version-regressed",
        resource: entry.resource,
        ...(entry.opId !== undefined ? { opId: entry.opId } : {}),
        description: `${entry.resource} went from version ${previous.version} (sequence ${previous.sequence}) to ${entry.version} (sequence ${entry.sequence})`,
      });
    }
    last.set(entry.resource, entry);
  }
  return found;
}

/** Two acknowledged updates from the same expected version: one of them was lost. */
function lostUpdates(updates: readonly PlatformUpdate[]): PlatformViolation[] {
  const winners = new Map<string, PlatformUpdate>();
  const found: PlatformViolation[] = [];
  for (const u of updates) {
    if (u.outcome !== "ok") continue;
    const slot = `${u.resource}\u0000${u.expectedVersion}`;
    const other = winners.get(slot);
    if (other === undefined) winners.set(slot, u);
    else {
      found.push({
        kind: "lost-update",
        resource: u.resource,
        opId: u.opId,
        description: `${other.opId} and ${u.opId} both succeeded from version ${u.expectedVersion} of ${u.resource}`,
      });
    }
  }
  return found;
}

/**
 * An acknowledged update that returned before another was invoked must be
 * logged before it. Walking the log backwards with the earliest return seen
 * so far finds any pair in the wrong order in O(n log n).
 */
function realTimeOrder(
  updates: readonly PlatformUpdate[],
  applied: ReadonlyMap<string, OpLogEntry>,
): PlatformViolation[] {
  const logged = updates
    .flatMap((u) => {
      const record = applied.get(u.opId);
      return u.outcome === "ok" && record !== undefined ? [{ u, sequence: record.sequence }] : [];
    })
    .sort((a, b) => b.sequence - a.sequence);
  const found: PlatformViolation[] = [];
  let earliest: PlatformUpdate | undefined; // the earliest-returning update logged later
  for (const { u } of logged) {
    if (earliest !== undefined && earliest.ret < u.call) {
      found.push({
        kind: "order",
        resource: u.resource,
        opId: u.opId,
        description: `${earliest.opId} returned at ${earliest.ret} ms, before ${u.opId} was called at ${u.call} ms, yet is logged after it`,
      });
    }
    if (earliest === undefined || u.ret < earliest.ret) earliest = u;
  }
  return found;
}

/** The final version is the last applied one, and no acknowledged version is above it. */
function finalState(input: PlatformInput, log: readonly OpLogEntry[]): PlatformViolation[] {
  const lastLogged = new Map<string, number>();
  for (const entry of log) {
    if (entry.outcome === "ok" && entry.version !== undefined)
      lastLogged.set(entry.resource, entry.version);
  }
  const highestAcked = new Map<string, number>();
  for (const u of input.updates) {
    if (u.outcome !== "ok") continue;
    const version = u.newVersion ?? u.expectedVersion + 1;
    highestAcked.set(u.resource, Math.max(highestAcked.get(u.resource) ?? 0, version));
  }
  const found: PlatformViolation[] = [];
  const final = new Map(input.finalState.map((r) => [r.resource, r.version]));
  for (const [resource, acked] of highestAcked) {
    const version = final.get(resource);
    if (version === undefined || version < acked) {
      found.push({
        kind: "final-state",
        resource,
        description: `${resource} ends at version ${version ?? "(absent)"}, below acknowledged version ${acked}`,
      });
    }
  }
  for (const [resource, version] of final) {
    const logged = lastLogged.get(resource);
    if (logged !== undefined && logged !== version) {
      found.push({
        kind: "final-state",
        resource,
        description: `${resource} ends at version ${version} but the op log's last change made version ${logged}`,
      });
    }
  }
  return found;
}
