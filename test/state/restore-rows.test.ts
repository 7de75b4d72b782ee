// What `cairn snapshot restore` does to a snapshot's rows: old members'
// attributes and alarms go, lease expiries restart from the restore's clock,
// and everything else (keys with their history, lease attachments) is kept
// byte for byte; the summary reads the result like a booting member would.
import { describe, expect, it } from "vitest";
import type { Command } from "../../src/state/command.js";
import { rowsForNewCluster, type StateRow } from "../../src/state/restore-rows.js";
import { StateMachine } from "../../src/state/state-machine.js";
import { summarizeState } from "../../src/state/state-summary.js";
import { dumpState, grant, put, run } from "./helpers.js";

const GRANTED_AT_MS = 1_000_000;
const RESTORED_AT_MS = 9_000_000;

function oldCluster() {
  const attributes: Command = {
    v: 1,
    id: 900,
    at: 0,
    kind: "member-attributes",
    memberId: 77,
    name: "old-1",
    clientUrls: ["http://10.0.0.1:2379"],
  };
  const alarm: Command = {
    v: 1,
    id: 901,
    at: 0,
    kind: "alarm",
    action: "activate",
    memberId: 77,
    alarm: "nospace",
  };
  return run([
    grant(5, 30, GRANTED_AT_MS),
    put("a", "1"),
    put("a", "2"),
    put("held", "x", { lease: 5 }),
    attributes,
    alarm,
  ]);
}

function load(rows: readonly StateRow[]): StateMachine {
  const sm = new StateMachine();
  for (const row of rows) sm.loadRow(row.table, row.key, row.value);
  return sm;
}

describe("rows for a restored cluster", () => {
  it("drops the old members' attributes and alarms", () => {
    const { sm, store } = oldCluster();
    expect(sm.alarms.has("nospace")).toBe(true);
    const restored = load(rowsForNewCluster(store.rows.values(), RESTORED_AT_MS));
    expect(restored.memberAttributes.get(77)).toBeUndefined();
    expect(restored.alarms.list()).toEqual([]);
  });

  it("gives every lease a full TTL from the restore's clock, keeping its keys", () => {
    const { store } = oldCluster();
    const restored = load(rowsForNewCluster(store.rows.values(), RESTORED_AT_MS));
    expect(restored.leases.get(5)).toEqual({
      id: 5,
      grantedTtlSeconds: 30,
      expiresAtMs: RESTORED_AT_MS + 30_000,
    });
    expect(restored.leases.attachedKeys(5)).toEqual(["held"]);
    expect(restored.leases.expired(RESTORED_AT_MS + 29_999, 10)).toEqual([]);
  });

  it("keeps the keyspace exactly: history, revisions, versions and the hash", () => {
    const { sm, store } = oldCluster();
    const restored = load(rowsForNewCluster(store.rows.values(), RESTORED_AT_MS));
    const { leases: _before, ...kvBefore } = dumpState(sm);
    const { leases: _after, ...kvAfter } = dumpState(restored);
    expect(kvAfter).toEqual(kvBefore);
  });

  it("summarizes rows as a booting member would read them", () => {
    const { store } = oldCluster();
    const summary = summarizeState(rowsForNewCluster(store.rows.values(), RESTORED_AT_MS));
    expect(summary).toMatchObject({ revision: 4, compactRevision: 0, keys: 2, leases: 1 });
    expect(Object.keys(summary.rowsByTable)).toEqual(["kv", "kv-meta", "lease"]);
  });
});
