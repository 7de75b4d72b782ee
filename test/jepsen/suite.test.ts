// The long suite's plan (jepsen-lite/suite.ts): what npm run jepsen:full runs.
import { describe, expect, it } from "vitest";
import { ALL_NEMESES, ALL_WORKLOADS, PLANTED, suiteRuns } from "../../jepsen-lite/suite.js";
import { UNSAFE_SWITCHES } from "../../src/server/unsafe.js";

const BASE = {
  acceptanceRuns: 20,
  acceptanceTimeSec: 120,
  plantedRuns: 10,
  etcdRuns: 3,
  rootNet: false,
  seed: 1000,
};

function flag(args: readonly string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at < 0 ? undefined : args[at + 1];
}

describe("jepsen:full suite", () => {
  it("runs every nemesis and workload on 3 and 5 nodes, each acceptance run valid", () => {
    const acceptance = suiteRuns(BASE).filter((r) => r.group === "acceptance");
    expect(acceptance).toHaveLength(20);
    expect(new Set(acceptance.map((r) => flag(r.args, "--nodes")))).toEqual(new Set(["3", "5"]));
    for (const run of acceptance) {
      expect(run.expect).toBe("valid");
      expect(flag(run.args, "--time")).toBe("120");
      expect(flag(run.args, "--nemesis")).toBe(ALL_NEMESES);
      expect(flag(run.args, "--workload")).toBe(ALL_WORKLOADS);
    }
  });

  it("plants every unsafe switch, each with a control that differs only by --unsafe", () => {
    const runs = suiteRuns(BASE);
    expect(PLANTED.map((p) => p.bug).sort()).toEqual([...UNSAFE_SWITCHES].sort());
    const planted = runs.filter((r) => r.group === "planted");
    const controls = runs.filter((r) => r.group === "control");
    expect(planted).toHaveLength(UNSAFE_SWITCHES.length * 10);
    expect(controls).toHaveLength(planted.length);
    for (const [i, run] of planted.entries()) {
      expect(run.expect).toBe("invalid");
      const control = controls[i];
      expect(control?.expect).toBe("valid");
      const at = run.args.indexOf("--unsafe");
      expect(control?.args).toEqual([...run.args.slice(0, at), ...run.args.slice(at + 2)]);
    }
  });

  it("gives every run its own seed, and etcd partitions only with the root backend", () => {
    const runs = suiteRuns(BASE);
    const seeds = runs.filter((r) => r.group !== "control").map((r) => flag(r.args, "--seed"));
    expect(new Set(seeds).size).toBe(seeds.length);
    const etcd = runs.filter((r) => r.group === "etcd");
    expect(etcd.every((r) => !flag(r.args, "--nemesis")?.includes("partition"))).toBe(true);
    const rooted = suiteRuns({ ...BASE, rootNet: true }).filter((r) => r.group === "etcd");
    expect(rooted.every((r) => flag(r.args, "--net") === "root")).toBe(true);
    expect(rooted.every((r) => flag(r.args, "--nemesis")?.includes("partition"))).toBe(true);
  });

  it("runs only the groups and bugs asked for", () => {
    const runs = suiteRuns({ ...BASE, only: ["planted"] });
    expect(new Set(runs.map((r) => r.group))).toEqual(new Set(["planted"]));
    const one = suiteRuns({ ...BASE, only: ["planted", "control"], bugs: ["no-fsync"] });
    expect(one).toHaveLength(20);
    expect(one.every((r) => r.name.includes("no-fsync"))).toBe(true);
  });
});
