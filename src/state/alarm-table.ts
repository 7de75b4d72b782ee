// Cluster-wide alarms (etcd's NOSPACE and CORRUPT), raised and cleared
// through Raft so every member refuses the same writes at the same index.
// Keyed by (member id, alarm): each member raises its own.
import { assert } from "../util/assert.js";
import type { RowVisitor, TableWrite } from "./table-write.js";

export type AlarmKind = "nospace" | "corrupt";

export interface Alarm {
  readonly memberId: number;
  readonly alarm: AlarmKind;
}

export const ALARM_TABLE = "alarm";
const KIND_CODES: Readonly<Record<AlarmKind, number>> = { nospace: 1, corrupt: 2 };
const PRESENT = new Uint8Array([1]);

function rowKey(alarm: Alarm): Uint8Array {
  const key = Buffer.alloc(9);
  key.writeUIntBE(alarm.memberId, 2, 6);
  key[8] = KIND_CODES[alarm.alarm];
  return key;
}

function fromRowKey(key: Uint8Array): Alarm {
  assert(key.byteLength === 9, "alarm row keys are 9 bytes");
  const bytes = Buffer.from(key);
  const code = bytes[8];
  const alarm = (Object.keys(KIND_CODES) as AlarmKind[]).find((kind) => KIND_CODES[kind] === code);
  assert(alarm !== undefined, `unknown alarm code ${code}`);
  return { memberId: bytes.readUIntBE(2, 6), alarm };
}

function id(alarm: Alarm): string {
  return `${alarm.memberId}:${alarm.alarm}`;
}

export class AlarmTable {
  private readonly alarms = new Map<string, Alarm>();

  /** Active alarms, ordered by member id then kind so every member lists them alike. */
  list(): Alarm[] {
    return [...this.alarms.values()].sort(
      (a, b) => a.memberId - b.memberId || KIND_CODES[a.alarm] - KIND_CODES[b.alarm],
    );
  }

  has(kind: AlarmKind): boolean {
    return this.list().some((alarm) => alarm.alarm === kind);
  }

  activate(alarm: Alarm): TableWrite[] {
    assert(alarm.memberId > 0, "an alarm names the member that raised it");
    if (this.alarms.has(id(alarm))) return [];
    this.alarms.set(id(alarm), alarm);
    return [{ table: ALARM_TABLE, key: rowKey(alarm), value: PRESENT }];
  }

  /** Clears one alarm; memberId 0 clears that kind for every member. */
  deactivate(alarm: Alarm): TableWrite[] {
    const cleared = this.list().filter(
      (a) => a.alarm === alarm.alarm && (alarm.memberId === 0 || a.memberId === alarm.memberId),
    );
    for (const a of cleared) this.alarms.delete(id(a));
    return cleared.map((a) => ({ table: ALARM_TABLE, key: rowKey(a), value: null }));
  }

  /** Every row exactly as persisted (see state-digest.ts). */
  visitRows(visit: RowVisitor): void {
    for (const alarm of this.alarms.values()) visit(ALARM_TABLE, rowKey(alarm), PRESENT);
  }

  loadRow(key: Uint8Array): void {
    const alarm = fromRowKey(key);
    this.alarms.set(id(alarm), alarm);
  }
}
