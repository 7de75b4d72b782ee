import { describe, expect, it } from "vitest";
import { FaultRulesError } from "../../src/transport/errors.js";
import { FAULT_RULES_MAX, LinkFaults, NO_FAULT } from "../../src/transport/link-faults.js";

function rulesError(run: () => unknown): FaultRulesError {
  try {
    run();
  } catch (error) {
    if (error instanceof FaultRulesError) return error;
    throw error;
  }
  throw new Error("expected a FaultRulesError");
}

describe("LinkFaults", () => {
  it("starts with no faults on any link", () => {
    const faults = new LinkFaults();
    expect(faults.outbound(2)).toEqual(NO_FAULT);
    expect(faults.inbound(2)).toEqual(NO_FAULT);
    expect(faults.describe()).toEqual({ links: [] });
  });

  it("cuts one direction or both", () => {
    const faults = new LinkFaults();
    faults.cut(2, "out");
    faults.cut(3, "in");
    faults.cut(4, "both");
    expect([faults.outbound(2).drop, faults.inbound(2).drop]).toEqual([true, false]);
    expect([faults.outbound(3).drop, faults.inbound(3).drop]).toEqual([false, true]);
    expect([faults.outbound(4).drop, faults.inbound(4).drop]).toEqual([true, true]);
    expect(faults.outbound(5).drop).toBe(false);
  });

  it("combines delay and loss with a cut on the same link, and heals per peer or all", () => {
    const faults = new LinkFaults();
    faults.setDelay(2, 30);
    faults.setLoss(2, 25, "out");
    faults.cut(3, "both");
    expect(faults.outbound(2)).toEqual({ drop: false, delayMs: 30, lossPct: 25 });
    expect(faults.inbound(2)).toEqual({ drop: false, delayMs: 30, lossPct: 0 });

    faults.heal(2);
    expect(faults.outbound(2)).toEqual(NO_FAULT);
    expect(faults.outbound(3).drop).toBe(true);
    faults.heal();
    expect(faults.describe()).toEqual({ links: [] });
  });

  it("describes only non-default links, sorted, in a shape applyRules accepts", () => {
    const faults = new LinkFaults();
    faults.setLoss(3, 10, "in");
    faults.cut(2, "out");
    const description = faults.describe();
    expect(description).toEqual({
      links: [
        { peer: 2, direction: "out", drop: true, delayMs: 0, lossPct: 0 },
        { peer: 3, direction: "in", drop: false, delayMs: 0, lossPct: 10 },
      ],
    });

    const copy = new LinkFaults();
    copy.applyRules(JSON.parse(JSON.stringify(description)));
    expect(copy.describe()).toEqual(description);
  });

  it("applyRules replaces every rule and accepts JSON text with defaults", () => {
    const faults = new LinkFaults();
    faults.cut(9, "both");
    faults.applyRules(
      '{"links":[{"peer":2,"drop":true},{"peer":3,"direction":"out","delayMs":40}]}',
    );
    expect(faults.outbound(9)).toEqual(NO_FAULT);
    expect(faults.outbound(2).drop).toBe(true);
    expect(faults.inbound(2).drop).toBe(true);
    expect(faults.outbound(3)).toEqual({ drop: false, delayMs: 40, lossPct: 0 });
    expect(faults.inbound(3)).toEqual(NO_FAULT);
  });

  it.each([
    ["not JSON", "{links:", "$", /not valid JSON/],
    ["an array", [], "$", /must be an object/],
    ["an unknown top-level field", { links: [], rules: [] }, "$", /unknown field rules/],
    ["links not an array", { links: {} }, "links", /must be an array/],
    ["a link that is not an object", { links: [7] }, "links[0]", /must be an object/],
    ["a missing peer", { links: [{ drop: true }] }, "links[0].peer", /positive integer/],
    ["peer 0", { links: [{ peer: 0 }] }, "links[0].peer", /got 0/],
    [
      "a bad direction",
      { links: [{ peer: 2, direction: "up" }] },
      "links[0].direction",
      /"out", "in"/,
    ],
    ["drop as a string", { links: [{ peer: 2, drop: "yes" }] }, "links[0].drop", /true or false/],
    ["a negative delay", { links: [{ peer: 2, delayMs: -1 }] }, "links[0].delayMs", /0\.\.60000/],
    ["a fractional delay", { links: [{ peer: 2, delayMs: 1.5 }] }, "links[0].delayMs", /integer/],
    ["loss over 100", { links: [{ peer: 2, lossPct: 150 }] }, "links[0].lossPct", /got 150/],
    [
      "a misspelled field",
      { links: [{ peer: 2, loss: 5 }] },
      "links[0].loss",
      /unknown field loss/,
    ],
  ])("applyRules rejects %s with a path", (_name, input, path, message) => {
    const faults = new LinkFaults();
    const error = rulesError(() => faults.applyRules(input));
    expect(error.path).toBe(path);
    expect(error.message).toMatch(message);
    expect(error.code).toBe("CAIRN_TRANSPORT_FAULT_RULES");
  });

  it("applyRules bounds the number of rules", () => {
    const links = Array.from({ length: FAULT_RULES_MAX + 1 }, (_, i) => ({
      peer: i + 1,
      drop: true,
    }));
    expect(rulesError(() => new LinkFaults().applyRules({ links })).path).toBe("links");
  });

  it("leaves existing rules untouched when applyRules input is invalid", () => {
    const faults = new LinkFaults();
    faults.cut(2, "both");
    rulesError(() => faults.applyRules({ links: [{ peer: 3, drop: true }, { peer: -1 }] }));
    expect(faults.outbound(2).drop).toBe(true);
    expect(faults.outbound(3).drop).toBe(false);
  });

  it("validates direct setters too", () => {
    const faults = new LinkFaults();
    expect(rulesError(() => faults.setLoss(2, -5)).path).toBe("lossPct");
    expect(rulesError(() => faults.setDelay(2, 70_000)).path).toBe("delayMs");
    expect(rulesError(() => faults.cut(0, "out")).path).toBe("peer");
  });

  it("draws loss from the injected random source", () => {
    const draws = [0.1, 0.3, 0.29, 0.9];
    const faults = new LinkFaults({ random: () => draws.shift() ?? 1 });
    faults.setLoss(2, 30, "out");
    const rule = faults.outbound(2);
    expect([1, 2, 3, 4].map(() => faults.shouldLose(rule))).toEqual([true, false, true, false]);
    expect(faults.shouldLose(NO_FAULT)).toBe(false);
  });

  it("counts dropped messages per directed link, across heal()", () => {
    const faults = new LinkFaults();
    faults.countDropped(2, "out", 3);
    faults.countDropped(2, "out", 2);
    faults.heal();
    expect(faults.droppedMessages(2, "out")).toBe(5);
    expect(faults.droppedMessages(2, "in")).toBe(0);
  });
});
