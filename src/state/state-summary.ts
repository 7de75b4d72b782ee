// A summary of a set of state rows (a snapshot file's), computed by loading
// them into a fresh state machine exactly as a member does at boot. Loading
// doubles as a check: a row the state machine cannot read fails here, before
// a restore writes it into a data dir a member would then refuse to boot on.
import type { StateRow } from "./restore-rows.js";
import { StateMachine } from "./state-machine.js";

export interface StateSummary {
  /** The store revision (etcd's header.revision after the last write). */
  readonly revision: number;
  /** Reads below this revision fail with Compacted; 0 = never compacted. */
  readonly compactRevision: number;
  /** Live keys in the etcd keyspace at the revision. */
  readonly keys: number;
  readonly leases: number;
  /** Rows per table, tables in name order. */
  readonly rowsByTable: Readonly<Record<string, number>>;
}

const ALL_KEYS = Uint8Array.of(0);

export function summarizeState(rows: Iterable<StateRow>): StateSummary {
  const machine = new StateMachine();
  const counts = new Map<string, number>();
  for (const row of rows) {
    machine.loadRow(row.table, row.key, row.value);
    counts.set(row.table, (counts.get(row.table) ?? 0) + 1);
  }
  const range = machine.range({
    key: ALL_KEYS,
    rangeEnd: ALL_KEYS,
    limit: 0,
    revision: 0,
    sortOrder: "none",
    sortTarget: "key",
    keysOnly: true,
    countOnly: true,
    minModRevision: 0,
    maxModRevision: 0,
    minCreateRevision: 0,
    maxCreateRevision: 0,
  });
  return {
    revision: machine.kv.revision,
    compactRevision: machine.kv.compactRevision,
    keys: range.kind === "range" ? range.ok.count : 0,
    leases: machine.leases.size,
    rowsByTable: Object.fromEntries([...counts].sort(([a], [b]) => (a < b ? -1 : 1))),
  };
}
