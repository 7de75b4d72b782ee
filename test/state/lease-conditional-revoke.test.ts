// The expiry driver's revoke re-checks expiry at apply, so a keep-alive that
// was ordered before it is not undone.
import { describe, expect, it } from "vitest";
import { StateMachine } from "../../src/state/state-machine.js";
import { grant, put, renew, revoke } from "./helpers.js";

describe("conditional lease revoke (onlyIfExpired)", () => {
  it("is a no-op when a renewal moved the expiry past the revoke's time", () => {
    const sm = new StateMachine();
    sm.apply(grant(7, 10, 0));
    sm.apply(put("k", "v", { lease: 7 }));
    sm.apply(renew(7, 9_000)); // expires at 19 s now
    const revision = sm.kv.revision;
    const applied = sm.apply({ ...revoke(7), at: 12_000, onlyIfExpired: true });
    expect(applied.result).toEqual({ kind: "error", code: "lease-not-expired" });
    expect(applied.writes).toHaveLength(0);
    expect(sm.leases.has(7)).toBe(true);
    expect(sm.kv.revision).toBe(revision);
  });

  it("revokes, deleting attached keys, once the lease really is expired", () => {
    const sm = new StateMachine();
    sm.apply(grant(7, 10, 0));
    sm.apply(put("k", "v", { lease: 7 }));
    const applied = sm.apply({ ...revoke(7), at: 10_000, onlyIfExpired: true });
    expect(applied.result).toMatchObject({ kind: "lease-revoke", ok: { deleted: 1 } });
    expect(sm.leases.has(7)).toBe(false);
  });

  it("a client's revoke stays unconditional", () => {
    const sm = new StateMachine();
    sm.apply(grant(7, 10, 0));
    expect(sm.apply({ ...revoke(7), at: 1 }).result).toMatchObject({ kind: "lease-revoke" });
  });
});
