// One platform command's changes: the rows and events it produces, stamped
// with the revision it will commit at, plus its op-log record(s). A command
// that changed anything bumps the global MVCC revision exactly once, like a
// KV write txn (through the same MvccStore.advanceRevision and kv-meta row);
// a refused or no-op command only appends its op-log record, at the current
// revision. Inside a lease revoke the platform changes share the revision of
// the revoke's KV deletes when there were any.
import { assert } from "../../util/assert.js";
import { kvMetaWrite, type MvccStore } from "../mvcc/mvcc-store.js";
import type { TableWrite } from "../table-write.js";
import type { OpLog, OpLogDraft } from "./oplog.js";
import type { PlatformEvent } from "./results.js";

export interface CommittedPlatformTxn {
  readonly writes: readonly TableWrite[];
  readonly events: readonly PlatformEvent[];
  /** The store revision after the command. */
  readonly revision: number;
}

export class PlatformTxn {
  /** The revision a change made in this txn carries. */
  readonly revision: number;
  private readonly writes: TableWrite[] = [];
  private readonly events: PlatformEvent[] = [];
  private changedValue = false;
  private committed = false;

  /** shared: the KV part of the same command already advanced the revision (lease revoke). */
  constructor(
    private readonly kv: MvccStore,
    private readonly oplog: OpLog,
    private readonly shared: boolean,
  ) {
    this.revision = shared ? kv.revision : kv.revision + 1;
  }

  get changed(): boolean {
    return this.changedValue;
  }

  /** Records a change of platform state: its rows and, if watchers see it, its event. */
  change(writes: TableWrite | readonly TableWrite[], event: PlatformEvent | null = null): void {
    assert(!this.committed, "change after commit");
    this.changedValue = true;
    if (Array.isArray(writes)) this.writes.push(...(writes as readonly TableWrite[]));
    else this.writes.push(writes as TableWrite);
    if (event !== null) this.events.push(event);
  }

  /** Appends the op-log records, applies retention, and advances the revision if anything changed. */
  commit(drafts: readonly OpLogDraft[], atMs: number): CommittedPlatformTxn {
    assert(!this.committed, "commit twice");
    this.committed = true;
    const revision = this.changedValue ? this.revision : this.kv.revision;
    for (const draft of drafts) {
      const { record, writes } = this.oplog.append(draft, revision, atMs);
      this.writes.push(...writes);
      this.events.push({ table: "oplog", record });
    }
    this.writes.push(...this.oplog.prune(atMs));
    if (this.changedValue && !this.shared) {
      this.kv.advanceRevision(this.revision);
      this.writes.push(kvMetaWrite("revision", this.revision));
    }
    assert(this.kv.revision === revision, "platform txn revision drifted");
    return { writes: this.writes, events: this.events, revision };
  }
}
