import { describe, expect, it } from "vitest";
import type { Command } from "../../src/state/command.js";
import { StateMachine } from "../../src/state/state-machine.js";

const publish = (memberId: number, name: string, clientUrls: string[]): Command => ({
  v: 1,
  id: memberId * 100 + clientUrls.length,
  at: 0,
  kind: "member-attributes",
  memberId,
  name,
  clientUrls,
});

describe("member attributes (replicated)", () => {
  it("records each member's client URLs without touching the revision; republishing is a no-op", () => {
    const sm = new StateMachine();
    const first = sm.apply(publish(7, "n1", ["http://127.0.0.1:2379"]));
    expect(first.writes).toHaveLength(1);
    expect(sm.apply(publish(7, "n1", ["http://127.0.0.1:2379"])).writes).toHaveLength(0);
    expect(sm.apply(publish(7, "n1", ["http://10.0.0.1:2379"])).writes).toHaveLength(1);
    expect(sm.memberAttributes.get(7)?.clientUrls).toEqual(["http://10.0.0.1:2379"]);
    expect(sm.kv.revision).toBe(1);
  });

  it("reloads from its own writes", () => {
    const sm = new StateMachine();
    const writes = [
      ...sm.apply(publish(3, "n3", ["http://a:1"])).writes,
      ...sm.apply(publish(4, "n4", ["http://b:2", "http://c:3"])).writes,
    ];
    const reloaded = new StateMachine();
    for (const w of writes) reloaded.loadRow(w.table, w.key, w.value as Uint8Array);
    expect(reloaded.memberAttributes.get(4)).toEqual(sm.memberAttributes.get(4));
    expect(reloaded.memberAttributes.get(3)?.name).toBe("n3");
  });
});
