// Builders and inspectors shared by the state-machine tests: commands with
// etcd defaults, range queries, persistence of writes into a fake table store,
// reload through loadRow, and a canonical dump of the whole state.
import { expect } from "vitest";
import type { Applied, ApplyResult } from "../../src/state/apply-result.js";
import type {
  CompactCommand,
  Compare,
  CompareResult,
  CompareTarget,
  DeleteRangeCommand,
  DeleteRangeOp,
  LeaseGrantCommand,
  LeaseRenewCommand,
  LeaseRevokeCommand,
  PutCommand,
  PutOp,
  RangeOp,
  RequestOp,
  TxnCommand,
  TxnOp,
  TxnRequest,
} from "../../src/state/command.js";
import type { KeyValue } from "../../src/state/mvcc/key-value.js";
import type { RangeQuery, RangeResult } from "../../src/state/range.js";
import { StateMachine } from "../../src/state/state-machine.js";
import type { TableWrite } from "../../src/state/table-write.js";

export const bytes = (text: string): Uint8Array => Buffer.from(text, "latin1");
export const text = (data: Uint8Array): string => Buffer.from(data).toString("latin1");
/** "" = single key, "\0" = from-key, anything else = [key, end). */
export const end = (rangeEnd: string): Uint8Array =>
  rangeEnd === "\0" ? new Uint8Array([0]) : bytes(rangeEnd);

let nextCommandId = 1;
const base = (at: number) => ({ v: 1 as const, id: nextCommandId++, at });

export function putOp(key: string, value: string, extra: Partial<Omit<PutOp, "kind">> = {}): PutOp {
  return {
    kind: "put",
    key: bytes(key),
    value: bytes(value),
    lease: 0,
    prevKv: false,
    ignoreValue: false,
    ignoreLease: false,
    ...extra,
  };
}

export function delOp(key: string, rangeEnd = "", prevKv = true): DeleteRangeOp {
  return { kind: "delete-range", key: bytes(key), rangeEnd: end(rangeEnd), prevKv };
}

export function query(key: string, rangeEnd = "", extra: Partial<RangeQuery> = {}): RangeQuery {
  return {
    key: bytes(key),
    rangeEnd: end(rangeEnd),
    limit: 0,
    revision: 0,
    sortOrder: "none",
    sortTarget: "key",
    keysOnly: false,
    countOnly: false,
    minModRevision: 0,
    maxModRevision: 0,
    minCreateRevision: 0,
    maxCreateRevision: 0,
    ...extra,
  };
}

export function rangeOp(key: string, rangeEnd = "", extra: Partial<RangeQuery> = {}): RangeOp {
  return { kind: "range", ...query(key, rangeEnd, extra) };
}

export function txnOp(request: Partial<TxnRequest>): TxnOp {
  return { kind: "txn", compare: [], success: [], failure: [], ...request };
}

export function cmp(
  key: string,
  target: CompareTarget,
  result: CompareResult,
  operand: number | string,
  rangeEnd = "",
): Compare {
  return {
    key: bytes(key),
    rangeEnd: end(rangeEnd),
    target,
    result,
    operand: typeof operand === "number" ? operand : 0,
    value: typeof operand === "string" ? bytes(operand) : new Uint8Array(0),
  };
}

export function put(
  key: string,
  value: string,
  extra: Partial<Omit<PutOp, "kind">> = {},
): PutCommand {
  return { ...base(0), ...putOp(key, value, extra) };
}

export function del(key: string, rangeEnd = "", prevKv = true): DeleteRangeCommand {
  return { ...base(0), ...delOp(key, rangeEnd, prevKv) };
}

export function txn(
  compare: readonly Compare[],
  success: readonly RequestOp[],
  failure: readonly RequestOp[] = [],
): TxnCommand {
  return { ...base(0), kind: "txn", compare, success, failure };
}

export function compactTo(revision: number): CompactCommand {
  return { ...base(0), kind: "compact", revision };
}

export function grant(leaseId: number, ttlSeconds: number, at = 0): LeaseGrantCommand {
  return { ...base(at), kind: "lease-grant", leaseId, ttlSeconds };
}

export function revoke(leaseId: number): LeaseRevokeCommand {
  return { ...base(0), kind: "lease-revoke", leaseId };
}

export function renew(leaseId: number, at: number): LeaseRenewCommand {
  return { ...base(at), kind: "lease-renew", leaseId };
}

/** The success payload of a result of the expected kind (fails the test otherwise). */
type Success = Exclude<ApplyResult, { kind: "error" } | { kind: "platform-error" }>;
type OkByKind = { [R in Success as R["kind"]]: R["ok"] };

export function okOf<K extends keyof OkByKind>(applied: Applied | undefined, kind: K): OkByKind[K] {
  if (applied === undefined) throw new Error("no such applied command");
  expect(applied.result.kind).toBe(kind);
  return (applied.result as Success).ok as unknown as OkByKind[K];
}

export function rangeOk(result: RangeResult) {
  if (result.kind !== "range") throw new Error(`range failed: ${result.code}`);
  return result.ok;
}

export const keysOf = (kvs: readonly KeyValue[]): string[] => kvs.map((kv) => text(kv.key));

/** A KeyValue with strings, for readable equality checks. */
export function plain(kv: KeyValue | null | undefined) {
  if (kv === null || kv === undefined) return kv;
  return {
    key: text(kv.key),
    value: text(kv.value),
    create: kv.createRevision,
    mod: kv.modRevision,
    version: kv.version,
    lease: kv.lease,
  };
}

/** A fake of the shell's table store: applies writes in order, as one LevelDB batch would. */
export class TableStore {
  readonly rows = new Map<string, { table: string; key: Uint8Array; value: Uint8Array }>();

  apply(writes: readonly TableWrite[]): void {
    for (const write of writes) {
      const id = `${write.table}/${Buffer.from(write.key).toString("hex")}`;
      if (write.value === null) this.rows.delete(id);
      else this.rows.set(id, { table: write.table, key: write.key, value: write.value });
    }
  }

  /** Boots a fresh state machine from the rows, table by table as the shell does. */
  reload(shuffleSeed = 0): StateMachine {
    const sm = new StateMachine();
    let rows = [...this.rows.values()].sort((a, b) => {
      const table = a.table.localeCompare(b.table);
      return table !== 0 ? table : Buffer.compare(a.key, b.key);
    });
    if (shuffleSeed !== 0) rows = shuffled(rows, shuffleSeed);
    for (const row of rows) sm.loadRow(row.table, row.key, row.value);
    return sm;
  }
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Everything observable about a state machine, in a canonical form. */
export function dumpState(sm: StateMachine) {
  const history = sm.kv.history.map((v) => ({
    rev: `${v.kv.modRevision}.${v.sub}`,
    tombstone: v.tombstone,
    kv: plain(v.kv),
  }));
  const perKey = new Map<string, string[]>();
  for (const v of sm.kv.history) {
    perKey.set(v.key, [...(perKey.get(v.key) ?? []), `${v.kv.modRevision}.${v.sub}`]);
  }
  for (const [key, revs] of perKey) {
    const index = sm.kv.keyIndex(key)?.all.map((v) => `${v.kv.modRevision}.${v.sub}`);
    expect(index, `key index of ${key} agrees with the history`).toEqual(revs);
  }
  const leases = sm.leases.leases().map((id) => ({
    ...sm.leases.get(id),
    keys: sm.leases.attachedKeys(id),
  }));
  return {
    revision: sm.kv.revision,
    compactRevision: sm.kv.compactRevision,
    history,
    leases,
    hash: sm.hashKv(0),
  };
}

/** Applies commands, persisting every write into a TableStore. */
export function run(commands: readonly Parameters<StateMachine["apply"]>[0][]) {
  const sm = new StateMachine();
  const store = new TableStore();
  const applied: Applied[] = [];
  for (const command of commands) {
    const result = sm.apply(command);
    store.apply(result.writes);
    applied.push(result);
  }
  return { sm, store, applied };
}
