// The replicated state machine: applies decoded commands to the keyspace and
// answers reads. apply() is a pure function of (state, command): it returns
// the result for the waiting request and the writes the shell must persist in
// the same batch as the applied index.
import { assertNever } from "../util/assert.js";
import type { Command, DeleteRangeCommand, PutCommand } from "./command.js";
import { toKeyRange } from "./key-range.js";
import { type KeyValue, KvStore, type TableWrite } from "./kv-store.js";

/** Deterministic failures decided at apply time (same on every member). */
export type ApplyErrorCode = "key-not-found" | "lease-not-found";

export type PutResult = { readonly revision: number; readonly prevKv: KeyValue | null };
export type DeleteRangeResult = {
  readonly revision: number;
  readonly deleted: number;
  readonly prevKvs: readonly KeyValue[];
};

export type ApplyResult =
  | { readonly kind: "put"; readonly ok: PutResult }
  | { readonly kind: "delete-range"; readonly ok: DeleteRangeResult }
  | { readonly kind: "error"; readonly code: ApplyErrorCode };

export interface Applied {
  readonly result: ApplyResult;
  readonly writes: readonly TableWrite[];
}

export class StateMachine {
  readonly kv = new KvStore();

  static readonly tables: readonly string[] = KvStore.tables;

  apply(command: Command): Applied {
    switch (command.kind) {
      case "put":
        return this.applyPut(command);
      case "delete-range":
        return this.applyDeleteRange(command);
      default:
        return assertNever(command, "command kind");
    }
  }

  loadRow(table: string, key: Uint8Array, value: Uint8Array): void {
    this.kv.loadRow(table, key, value);
  }

  private applyPut(command: PutCommand): Applied {
    const previous = this.kv.get(Buffer.from(command.key).toString("latin1"));
    if ((command.ignoreValue || command.ignoreLease) && previous === undefined) {
      return { result: { kind: "error", code: "key-not-found" }, writes: [] };
    }
    if (!command.ignoreLease && command.lease !== 0) {
      // Leases arrive with the etcd-compatibility work; until then every lease id is unknown.
      return { result: { kind: "error", code: "lease-not-found" }, writes: [] };
    }
    const value = command.ignoreValue && previous !== undefined ? previous.value : command.value;
    const lease = command.ignoreLease && previous !== undefined ? previous.lease : command.lease;
    const txn = this.kv.beginWrite();
    txn.put(command.key, value, lease);
    const { revision, writes } = txn.commit();
    const prevKv = command.prevKv && previous !== undefined ? previous : null;
    return { result: { kind: "put", ok: { revision, prevKv } }, writes };
  }

  private applyDeleteRange(command: DeleteRangeCommand): Applied {
    const txn = this.kv.beginWrite();
    const removed = txn.deleteRange(toKeyRange(command.key, command.rangeEnd));
    const { revision, writes } = txn.commit();
    const prevKvs = command.prevKv ? removed : [];
    return {
      result: { kind: "delete-range", ok: { revision, deleted: removed.length, prevKvs } },
      writes,
    };
  }
}
