// Folding checker verdicts into one run verdict, and results.json encoding.

import { describe, expect, it } from "vitest";
import {
  combineResults,
  combineValidity,
  encodeResults,
} from "../../jepsen-lite/checker/combine.js";

describe("combineValidity", () => {
  it("is true only when every checker is true", () => {
    expect(combineValidity([true, true])).toBe(true);
  });

  it("any false wins over unknown", () => {
    expect(combineValidity([true, "unknown", false])).toBe(false);
    expect(combineValidity(["unknown", false, true])).toBe(false);
  });

  it("unknown when nothing is false but something is unknown", () => {
    expect(combineValidity([true, "unknown"])).toBe("unknown");
  });

  it("no checkers is unknown, never a vacuous pass", () => {
    expect(combineValidity([])).toBe("unknown");
  });
});

describe("combineResults", () => {
  it("keeps every checker's result and the counts", () => {
    const results = combineResults(
      { linearizable: { valid: true }, lock: { valid: "unknown" as const, note: "x" } },
      { ok: 3, fail: 1, info: 2 },
    );
    expect(results.valid).toBe("unknown");
    expect(results.checkers.lock).toEqual({ valid: "unknown", note: "x" });
    expect(results.counts).toEqual({ ok: 3, fail: 1, info: 2 });
  });

  it("encodes Infinity as a string so indeterminate return times survive JSON", () => {
    const results = combineResults(
      { a: { valid: false, returnTime: Infinity } },
      { ok: 0, fail: 0, info: 1 },
    );
    const parsed = JSON.parse(encodeResults(results));
    expect(parsed.valid).toBe(false);
    expect(parsed.checkers.a.returnTime).toBe("Infinity");
  });
});
