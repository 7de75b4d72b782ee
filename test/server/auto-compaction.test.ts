import { describe, expect, it } from "vitest";
import { AutoCompactor, periodicTarget } from "../../src/server/auto-compactor.js";
import { ConfigError, parseAutoCompaction } from "../../src/server/config.js";

describe("auto-compaction flags", () => {
  it("reads periodic retention as hours or a duration, revision retention as a count, 0 as off", () => {
    expect(parseAutoCompaction("periodic", "1")).toEqual({
      mode: "periodic",
      retentionMs: 3_600_000,
    });
    expect(parseAutoCompaction("periodic", "0.5")).toEqual({
      mode: "periodic",
      retentionMs: 1_800_000,
    });
    expect(parseAutoCompaction("periodic", "30m")).toEqual({
      mode: "periodic",
      retentionMs: 1_800_000,
    });
    expect(parseAutoCompaction("revision", "1000")).toEqual({
      mode: "revision",
      retentionRevisions: 1000,
    });
    expect(parseAutoCompaction("periodic", "0")).toEqual({ mode: "off" });
    expect(() => parseAutoCompaction("daily", "1")).toThrow(ConfigError);
    expect(() => parseAutoCompaction("periodic", "1d")).toThrow(/hours \(1, 0\.5\) or a duration/);
  });

  it("samples periodic mode every retention/10 within bounds", () => {
    expect(AutoCompactor.defaultInterval({ mode: "periodic", retentionMs: 3_600_000 })).toBe(
      300_000,
    );
    expect(AutoCompactor.defaultInterval({ mode: "periodic", retentionMs: 2000 })).toBe(1000);
    expect(AutoCompactor.defaultInterval({ mode: "revision", retentionRevisions: 5 })).toBe(
      300_000,
    );
  });

  it("periodic mode compacts to the newest revision sampled before the window", () => {
    const samples = [
      { atMs: 0, revision: 10 },
      { atMs: 1000, revision: 20 },
      { atMs: 2000, revision: 30 },
    ];
    expect(periodicTarget(samples, 2500, 1000)).toBe(20);
    expect(periodicTarget(samples, 3000, 1000)).toBe(30);
    expect(periodicTarget(samples, 500, 1000)).toBeNull();
  });
});
