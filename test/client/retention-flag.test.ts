import { describe, expect, it } from "vitest";
import { parseRetentionAge } from "../../src/cli/log-command.js";

describe("cairn log retention --max-age", () => {
  it("reads days, hours and minutes, and refuses anything else", () => {
    expect(parseRetentionAge("30d")).toBe(30 * 86_400_000);
    expect(parseRetentionAge("12h")).toBe(12 * 3_600_000);
    expect(parseRetentionAge("90m")).toBe(90 * 60_000);
    expect(() => parseRetentionAge("30")).toThrow(/--max-age must be a duration/);
    expect(() => parseRetentionAge("0")).toThrow(/--max-age/);
    expect(() => parseRetentionAge("1w")).toThrow(/--max-age/);
  });
});
