// Flag handling shared by the failover and footprint modes: clear errors,
// never a silent default for a bad value.
import { describe, expect, it } from "vitest";
import { numberFlag, parseFlags, resultsFileName, UsageError } from "../../bench/subcommand.js";

describe("parseFlags", () => {
  it("returns defaults overridden by the flags given", () => {
    expect(parseFlags(["--trials", "3"], { trials: "5", size: "3" })).toEqual({
      trials: "3",
      size: "3",
    });
  });

  it("rejects an unknown flag and a stray argument as usage errors", () => {
    expect(() => parseFlags(["--trails", "3"], { trials: "5" })).toThrow(UsageError);
    expect(() => parseFlags(["both"], { trials: "5" })).toThrow(UsageError);
  });
});

describe("numberFlag", () => {
  it("accepts a value in range", () => {
    expect(numberFlag("trials", "5", 1, 50)).toBe(5);
    expect(numberFlag("warmup-s", "0.5", 0, 60, false)).toBe(0.5);
  });

  it("names the flag and the allowed range when the value is wrong", () => {
    expect(() => numberFlag("trials", "0", 1, 50)).toThrow(
      '--trials must be an integer in 1..50, got "0"',
    );
    expect(() => numberFlag("keys", "1.5", 1, 10)).toThrow(UsageError);
    expect(() => numberFlag("keys", "", 0, 10)).toThrow(UsageError);
    expect(() => numberFlag("keys", "ten", 0, 10)).toThrow(UsageError);
  });
});

describe("resultsFileName", () => {
  it("follows the workloads' -latest naming", () => {
    expect(resultsFileName("failover", ["cairn", "etcd"])).toBe("failover-both-latest.json");
    expect(resultsFileName("failover", ["cairn"])).toBe("failover-latest.json");
    expect(resultsFileName("footprint", ["etcd"])).toBe("footprint-etcd-latest.json");
  });
});
