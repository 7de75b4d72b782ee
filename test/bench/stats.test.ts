// Median/min/max over trials and the cairn/etcd ratio cell.
import { describe, expect, it } from "vitest";
import { median, ratioCell, spread } from "../../bench/stats.js";

describe("spread", () => {
  it("takes the middle value of an odd count, whatever the order", () => {
    expect(spread([5, 1, 3])).toEqual({ count: 3, median: 3, min: 1, max: 5 });
  });

  it("averages the middle two of an even count", () => {
    expect(median([4, 1, 3, 10])).toBe(3.5);
  });

  it("is null for no values", () => {
    expect(spread([])).toBeNull();
    expect(median([])).toBeNaN();
  });
});

describe("ratioCell", () => {
  it("divides cairn by etcd", () => {
    expect(ratioCell(150, 100)).toBe("1.50×");
    expect(ratioCell(50, 200)).toBe("0.25×");
  });

  it("shows a dash when a side is missing or etcd's is zero", () => {
    expect(ratioCell(null, 100)).toBe("–");
    expect(ratioCell(100, null)).toBe("–");
    expect(ratioCell(100, 0)).toBe("–");
  });
});
