// Per-process CPU % from the runner's tick samples, and their sum.
import { describe, expect, it } from "vitest";
import { serverCpuUse } from "../../bench/runner.js";

describe("serverCpuUse", () => {
  it("gives each process's share of one core over the window, in pid order", () => {
    // 100 ticks per second: 150 ticks over 2 s is 75 %.
    const use = serverCpuUse([1000, 500, 0], [1150, 520, 100], 2);
    expect(use.serverCpuPercentPerProcess).toEqual([75, 10, 50]);
    expect(use.serverCpuPercent).toBe(135);
  });

  it("marks a process that vanished and then has no sum", () => {
    const use = serverCpuUse([1000, 500], [1100, null], 1);
    expect(use.serverCpuPercentPerProcess).toEqual([100, null]);
    expect(use.serverCpuPercent).toBeNull();
  });

  it("has nothing without a start sample or without processes", () => {
    expect(serverCpuUse(null, [10, 20], 1)).toEqual({
      serverCpuPercent: null,
      serverCpuPercentPerProcess: [null, null],
    });
    expect(serverCpuUse([], [], 1)).toEqual({
      serverCpuPercent: null,
      serverCpuPercentPerProcess: [],
    });
  });
});
