// The CLI's flag parsing: every refusal names the flag, what is allowed and
// what was given; times accept durations ago, ISO times and epoch ms.
import { describe, expect, it } from "vitest";
import { parseChoice, parseInteger, parsePairs, parseTime } from "../../src/cli/parse.js";

describe("CLI flag parsing", () => {
  it("parses integers within bounds, refusing others with the flag and value", () => {
    expect(parseInteger("--cpu", "4", 1, 512)).toBe(4);
    expect(() => parseInteger("--cpu", "4.5", 1, 512)).toThrow(
      '--cpu must be an integer 1..512, got "4.5"',
    );
    expect(() => parseInteger("--cpu", "", 1, 512)).toThrow(/got ""/);
    expect(() => parseInteger("--cpu", "999", 1, 512)).toThrow(/1\.\.512/);
  });

  it("parses choices case-insensitively", () => {
    expect(parseChoice("--kind", "Server", ["server", "database"])).toBe("server");
    expect(() => parseChoice("--kind", "vm", ["server", "database"])).toThrow(
      '--kind must be one of server|database, got "vm"',
    );
  });

  it("parses key=value pairs from repeated and comma-separated flags", () => {
    expect(parsePairs("--label", ["env=prod,tier=web", "team=ops"])).toEqual({
      env: "prod",
      tier: "web",
      team: "ops",
    });
    expect(parsePairs("--label", ["empty="])).toEqual({ empty: "" });
    expect(() => parsePairs("--label", ["novalue"])).toThrow(
      '--label must be key=value, got "novalue"',
    );
  });

  it("parses times as durations ago, ISO times or epoch ms", () => {
    const now = Date.parse("2026-11-23T12:00:00Z");
    expect(parseTime("--since", "10m", now)).toBe(now - 600_000);
    expect(parseTime("--since", "2h", now)).toBe(now - 7_200_000);
    expect(parseTime("--since", "7d", now)).toBe(now - 7 * 86_400_000);
    expect(parseTime("--since", "2026-11-23T10:00:00Z", now)).toBe(
      Date.parse("2026-11-23T10:00:00Z"),
    );
    expect(parseTime("--since", "1790000000000", now)).toBe(1_790_000_000_000);
    expect(() => parseTime("--since", "yesterday", now)).toThrow(/--since must be a duration ago/);
  });
});
