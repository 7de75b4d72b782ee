import { describe, expect, it } from "vitest";
import type { Command } from "../../src/state/command.js";
import { StateMachine } from "../../src/state/state-machine.js";

let nextId = 1;
const alarm = (
  action: "activate" | "deactivate",
  memberId: number,
  kind: "nospace" | "corrupt" = "nospace",
): Command => ({
  v: 1,
  id: nextId++,
  at: 0,
  kind: "alarm",
  action,
  memberId,
  alarm: kind,
});

describe("alarms (replicated)", () => {
  it("activates per member, lists in a stable order, and leaves the revision alone", () => {
    const sm = new StateMachine();
    sm.apply(alarm("activate", 7));
    sm.apply(alarm("activate", 3, "corrupt"));
    const again = sm.apply(alarm("activate", 7));
    expect(again.writes).toHaveLength(0);
    expect(sm.alarms.list()).toEqual([
      { memberId: 3, alarm: "corrupt" },
      { memberId: 7, alarm: "nospace" },
    ]);
    expect(sm.alarms.has("nospace")).toBe(true);
    expect(sm.kv.revision).toBe(1);
  });

  it("deactivate with member 0 clears that kind for every member", () => {
    const sm = new StateMachine();
    sm.apply(alarm("activate", 1));
    sm.apply(alarm("activate", 2));
    sm.apply(alarm("activate", 2, "corrupt"));
    const cleared = sm.apply(alarm("deactivate", 0));
    expect(cleared.result).toEqual({
      kind: "alarm",
      ok: { alarms: [{ memberId: 2, alarm: "corrupt" }] },
    });
    expect(sm.alarms.has("nospace")).toBe(false);
  });

  it("survives a reload from its own writes", () => {
    const sm = new StateMachine();
    const rows = [
      ...sm.apply(alarm("activate", 5)).writes,
      ...sm.apply(alarm("activate", 9, "corrupt")).writes,
      ...sm.apply(alarm("deactivate", 5)).writes,
    ];
    const live = new Map<string, Uint8Array>();
    for (const row of rows) {
      const id = Buffer.from(row.key).toString("hex");
      if (row.value === null) live.delete(id);
      else live.set(id, row.key);
    }
    const reloaded = new StateMachine();
    for (const key of live.values()) reloaded.loadRow("alarm", key, new Uint8Array([1]));
    expect(reloaded.alarms.list()).toEqual(sm.alarms.list());
  });
});
