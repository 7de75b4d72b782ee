// The five Raft safety properties of Figure 3, checked against snapshots of
// every node. Each checker keeps history across calls, so "at most one leader
// per term" and "committed entries never change" hold over the whole run.

import type { ConfState, Entry, LogIndex, NodeId, Role, Term } from "../../src/raft/index.js";

export interface NodeView {
  readonly id: NodeId;
  /** Bumped on every restart: a restarted node is a new leader even in the same term. */
  readonly incarnation: number;
  readonly up: boolean;
  /** Only meaningful while up. */
  readonly role: Role;
  readonly term: Term;
  /** Durable commit index. */
  readonly commit: LogIndex;
  /** Durable log from index 1: log[k].index === k + 1. */
  readonly log: readonly Entry[];
  /** The state machine's applied entries in order: applied[k].index === k + 1. */
  readonly applied: readonly Entry[];
  /** The configuration as of the last applied entry (absent: not tracked). */
  readonly confState?: ConfState;
}

export type SafetyProperty =
  | "election-safety"
  | "leader-append-only"
  | "log-matching"
  | "leader-completeness"
  | "state-machine-safety"
  | "configuration-safety";

export class SafetyViolation extends Error {
  override readonly name = "SafetyViolation";
  constructor(
    readonly property: SafetyProperty,
    detail: string,
  ) {
    super(`${property} violated: ${detail}`);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) {
    return false;
  }
  for (let i = 0; i < a.byteLength; i++) {
    if (a[i] !== b[i]) {
      return false;
    }
  }
  return true;
}

export function sameEntry(a: Entry, b: Entry): boolean {
  return a.index === b.index && a.term === b.term && a.kind === b.kind && sameBytes(a.data, b.data);
}

export function describeEntry(e: Entry): string {
  return `(${e.index}, t${e.term}, ${new TextDecoder().decode(e.data) || "no-op"})`;
}

function checkContiguous(view: NodeView, entries: readonly Entry[], what: string): void {
  for (let k = 0; k < entries.length; k++) {
    const entry = entries[k];
    if (entry === undefined || entry.index !== k + 1) {
      throw new Error(`simulator bug: node ${view.id} ${what}[${k}] has index ${entry?.index}`);
    }
  }
}

/** §5.2: at most one leader per term, over all time. */
export class ElectionSafetyChecker {
  private readonly leaderOfTerm = new Map<Term, NodeId>();

  check(views: readonly NodeView[]): void {
    for (const v of views) {
      if (!v.up || v.role !== "leader") {
        continue;
      }
      const known = this.leaderOfTerm.get(v.term);
      if (known === undefined) {
        this.leaderOfTerm.set(v.term, v.id);
      } else if (known !== v.id) {
        throw new SafetyViolation(
          "election-safety",
          `nodes ${known} and ${v.id} were both leader in term ${v.term}`,
        );
      }
    }
  }
}

/** §5.3: a leader never overwrites or deletes entries in its own log. */
export class LeaderAppendOnlyChecker {
  private readonly logOfLeader = new Map<string, readonly Entry[]>();

  check(views: readonly NodeView[]): void {
    for (const v of views) {
      if (!v.up || v.role !== "leader") {
        continue;
      }
      const key = `${v.id}/${v.incarnation}/${v.term}`;
      const before = this.logOfLeader.get(key);
      if (before !== undefined) {
        if (v.log.length < before.length) {
          throw new SafetyViolation(
            "leader-append-only",
            `leader ${v.id} (term ${v.term}) log shrank from ${before.length} to ${v.log.length}`,
          );
        }
        for (let k = 0; k < before.length; k++) {
          const was = before[k];
          const now = v.log[k];
          if (was === undefined || now === undefined || !sameEntry(was, now)) {
            throw new SafetyViolation(
              "leader-append-only",
              `leader ${v.id} (term ${v.term}) replaced ${was && describeEntry(was)} with ${now && describeEntry(now)}`,
            );
          }
        }
      }
      this.logOfLeader.set(key, v.log);
    }
  }
}

interface EntryShape {
  readonly prevTerm: Term;
  readonly entry: Entry;
}

/**
 * §5.3: two logs with an entry of the same index and term are identical up to
 * it. Checked inductively over all logs ever seen: every (index, term) must
 * always come with the same content and the same term at index - 1.
 */
export class LogMatchingChecker {
  private readonly shapes = new Map<LogIndex, Map<Term, EntryShape>>();

  check(views: readonly NodeView[]): void {
    for (const v of views) {
      checkContiguous(v, v.log, "log");
      let prevTerm = 0;
      for (const entry of v.log) {
        this.checkShape(v, entry, prevTerm);
        prevTerm = entry.term;
      }
    }
  }

  private checkShape(v: NodeView, entry: Entry, prevTerm: Term): void {
    let byTerm = this.shapes.get(entry.index);
    if (byTerm === undefined) {
      byTerm = new Map();
      this.shapes.set(entry.index, byTerm);
    }
    const known = byTerm.get(entry.term);
    if (known === undefined) {
      byTerm.set(entry.term, { prevTerm, entry });
      return;
    }
    if (known.prevTerm !== prevTerm || !sameEntry(known.entry, entry)) {
      throw new SafetyViolation(
        "log-matching",
        `node ${v.id} has ${describeEntry(entry)} after term ${prevTerm}, but another log ` +
          `had ${describeEntry(known.entry)} after term ${known.prevTerm}`,
      );
    }
  }
}

interface CommittedEntry {
  readonly entry: Entry;
  /** Lowest term in which any node was seen holding it as committed. */
  commitTerm: Term;
}

/**
 * §5.4: an entry committed in term T is in the log of every leader of a term
 * greater than T. Also: a committed index never changes its entry.
 */
export class LeaderCompletenessChecker {
  readonly committed = new Map<LogIndex, CommittedEntry>();

  check(views: readonly NodeView[]): void {
    for (const v of views) {
      this.recordCommitted(v);
    }
    for (const v of views) {
      if (v.up && v.role === "leader") {
        this.checkLeader(v);
      }
    }
  }

  private recordCommitted(v: NodeView): void {
    if (v.commit > v.log.length) {
      throw new SafetyViolation(
        "leader-completeness",
        `node ${v.id} has commit ${v.commit} beyond its durable log (${v.log.length} entries)`,
      );
    }
    for (let k = 0; k < v.commit; k++) {
      const entry = v.log[k];
      if (entry === undefined) {
        continue;
      }
      const known = this.committed.get(entry.index);
      if (known === undefined) {
        this.committed.set(entry.index, { entry, commitTerm: v.term });
      } else if (!sameEntry(known.entry, entry)) {
        throw new SafetyViolation(
          "leader-completeness",
          `committed index ${entry.index} changed from ${describeEntry(known.entry)} to ` +
            `${describeEntry(entry)} on node ${v.id}`,
        );
      } else {
        known.commitTerm = Math.min(known.commitTerm, v.term);
      }
    }
  }

  private checkLeader(v: NodeView): void {
    for (const [index, known] of this.committed) {
      if (known.commitTerm >= v.term) {
        continue;
      }
      const ours = v.log[index - 1];
      if (ours === undefined || !sameEntry(ours, known.entry)) {
        throw new SafetyViolation(
          "leader-completeness",
          `leader ${v.id} of term ${v.term} lacks ${describeEntry(known.entry)}, committed in ` +
            `term ${known.commitTerm} (has ${ours ? describeEntry(ours) : "nothing"})`,
        );
      }
    }
  }
}

/**
 * §5.4.3: no two nodes ever apply different entries at the same index, and
 * only committed entries are applied. Needs the committed registry above.
 */
export class StateMachineSafetyChecker {
  private readonly appliedAt = new Map<LogIndex, { entry: Entry; by: NodeId }>();

  constructor(private readonly committed: ReadonlyMap<LogIndex, CommittedEntry>) {}

  check(views: readonly NodeView[]): void {
    for (const v of views) {
      checkContiguous(v, v.applied, "applied");
      for (const entry of v.applied) {
        this.checkApplied(v, entry);
      }
    }
  }

  private checkApplied(v: NodeView, entry: Entry): void {
    const known = this.appliedAt.get(entry.index);
    if (known === undefined) {
      this.appliedAt.set(entry.index, { entry, by: v.id });
    } else if (!sameEntry(known.entry, entry)) {
      throw new SafetyViolation(
        "state-machine-safety",
        `node ${v.id} applied ${describeEntry(entry)} but node ${known.by} applied ` +
          `${describeEntry(known.entry)} at the same index`,
      );
    }
    const committed = this.committed.get(entry.index);
    if (committed === undefined || !sameEntry(committed.entry, entry)) {
      throw new SafetyViolation(
        "state-machine-safety",
        `node ${v.id} applied ${describeEntry(entry)}, which is not a committed entry`,
      );
    }
  }
}

/**
 * Single-member changes are safe only one at a time: a leader appends a
 * change only once the previous one is applied, so no log may ever hold more
 * than one change that is not (yet) known committed anywhere. Adjacent
 * configurations then always share a majority (see allowsDisjointMajorities).
 */
export class ConfigurationChecker {
  constructor(private readonly committed: ReadonlyMap<LogIndex, CommittedEntry>) {}

  check(views: readonly NodeView[]): void {
    for (const v of views) {
      const uncommitted = v.log.filter((e) => {
        if (e.kind !== "conf-change") return false;
        const known = this.committed.get(e.index);
        return known === undefined || !sameEntry(known.entry, e);
      });
      if (uncommitted.length > 1) {
        throw new SafetyViolation(
          "configuration-safety",
          `node ${v.id} holds ${uncommitted.length} uncommitted configuration changes ` +
            `(${uncommitted.map(describeEntry).join(", ")})`,
        );
      }
    }
  }
}

/** All five properties; call check() after every step of a run. */
export class SafetyChecker {
  readonly electionSafety = new ElectionSafetyChecker();
  readonly leaderAppendOnly = new LeaderAppendOnlyChecker();
  readonly logMatching = new LogMatchingChecker();
  readonly leaderCompleteness = new LeaderCompletenessChecker();
  readonly stateMachineSafety = new StateMachineSafetyChecker(this.leaderCompleteness.committed);
  readonly configuration = new ConfigurationChecker(this.leaderCompleteness.committed);
  checks = 0;

  check(views: readonly NodeView[]): void {
    this.checks += 1;
    this.electionSafety.check(views);
    this.leaderAppendOnly.check(views);
    this.logMatching.check(views);
    this.leaderCompleteness.check(views);
    this.stateMachineSafety.check(views);
    this.configuration.check(views);
  }
}
