// `npm run jepsen -- --nodes 5 --time 120 --nemesis partition,kill,pause --workload register,lock`
// Runs one jepsen-lite test against real `cairn serve` processes on loopback,
// prints a progress line while it runs and a summary at the end, and exits
// 0 only when every checker says valid (1: invalid, 2: unknown, 3: usage).
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { familiesOfNames, isNemesisName, type NemesisName } from "./nemesis/faults.js";
import { RootNet } from "./net/root.js";
import { CAIRN_ONLY_WORKLOADS, run, WORKLOADS, type WorkloadName } from "./runner/run.js";

const HERE = import.meta.dirname;
/** Works from jepsen-lite/cli.ts and from dist/jepsen-lite/cli.js. */
const ROOT = resolve(HERE, ...(dirname(HERE).endsWith("dist") ? ["..", ".."] : [".."]));

const USAGE = `usage: npm run jepsen -- [options]
  --nodes N            3 or 5 members (default 3)
  --time S             seconds of load (default 60)
  --nemesis LIST       families partition,kill,pause,slow,member,snapshot, or single fault kinds
                       (e.g. partition-isolate-leader, kill-all), or none (default partition,kill,pause)
  --workload LIST      ${WORKLOADS.join(",")} (default register,lock);
                       platform drives cairn.v1 (resources and the op log), cairn only
  --seed N             seeds the fault plan and op mix (default: random, printed)
  --net BACKEND        portable (TCP proxy per link, default), inproc (members' /test/faults)
                       or root (a network namespace per member, nftables drops, tc netem
                       delay; needs root and: apt-get install nftables iproute2; without
                       netem in the kernel the slow nemesis is refused)
  --store DIR          parent of the run directory (default jepsen-lite/store)
  --quiet-ms MIN,MAX   quiet time before each fault (default 2000,4000)
  --hold-scale X       scales every fault's hold time (default 1)
  --keys N             keys the register workload spreads over (default 10; fewer = more contention)
  --workers N          register clients (default 6; worker i is pinned to member i mod n, every 4th roams)
  --unsafe LIST        plant bugs in cairn to prove the checkers catch them (e.g. stale-reads,
                       no-read-index, no-fsync, no-quorum-check, early-lock-grant, watch-skip)
  --target T           cairn (default) or etcd: a real etcd 3.4 (/usr/bin/etcd);
                       etcd takes the kill, pause and snapshot nemeses, and with
                       --net root also partition and slow; no platform workload`;

class UsageError extends Error {}

function list(raw: string): string[] {
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "" && s !== "none");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      nodes: { type: "string", default: "3" },
      time: { type: "string", default: "60" },
      nemesis: { type: "string", default: "partition,kill,pause" },
      workload: { type: "string", default: "register,lock" },
      seed: { type: "string" },
      net: { type: "string", default: "portable" },
      store: { type: "string", default: resolve(ROOT, "jepsen-lite", "store") },
      target: { type: "string", default: "cairn" },
      "quiet-ms": { type: "string", default: "2000,4000" },
      "hold-scale": { type: "string", default: "1" },
      unsafe: { type: "string", default: "" },
      keys: { type: "string", default: "10" },
      workers: { type: "string", default: "6" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const nodes = Number(values.nodes);
  if (nodes !== 3 && nodes !== 5)
    throw new UsageError(`--nodes must be 3 or 5, got ${values.nodes}`);
  const timeSec = Number(values.time);
  if (!Number.isInteger(timeSec) || timeSec < 5 || timeSec > 3600) {
    throw new UsageError(`--time must be whole seconds in 5..3600, got ${values.time}`);
  }
  const nemesis = list(values.nemesis);
  for (const n of nemesis) if (!isNemesisName(n)) throw new UsageError(`unknown nemesis ${n}`);
  if (nodes < 5 && nemesis.includes("partition-majorities-ring")) {
    throw new UsageError("partition-majorities-ring needs --nodes 5");
  }
  const workloads = list(values.workload);
  for (const w of workloads) {
    if (!(WORKLOADS as readonly string[]).includes(w))
      throw new UsageError(`unknown workload ${w}`);
  }
  if (workloads.length === 0) throw new UsageError("--workload needs at least one workload");
  const net = values.net;
  if (net !== "portable" && net !== "inproc" && net !== "root") {
    throw new UsageError(`--net must be portable, inproc or root, got ${net}`);
  }
  if (values.target !== "cairn" && values.target !== "etcd") {
    throw new UsageError(`--target must be cairn or etcd, got ${values.target}`);
  }
  if (values.target === "etcd") {
    const families = familiesOfNames(nemesis as NemesisName[]);
    const network = families.filter((n) => n === "partition" || n === "slow");
    if (net !== "root" && network.length > 0) {
      throw new UsageError(
        `--target etcd: the ${network.join(",")} nemesis needs --net root (etcd dials its advertised peer URLs, so the ${net} backend cannot fault its links); use --net root`,
      );
    }
    if (families.includes("member")) {
      throw new UsageError("--target etcd: no member nemesis (it is cairn-only)");
    }
    const cairnOnly = workloads.filter((w) =>
      (CAIRN_ONLY_WORKLOADS as readonly string[]).includes(w),
    );
    if (cairnOnly.length > 0) {
      throw new UsageError(
        `--target etcd: no ${cairnOnly.join(",")} workload (etcd has no cairn.v1 API)`,
      );
    }
  }
  if (net === "root") await checkRootNet(nemesis);
  const seed =
    values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  if (!Number.isSafeInteger(seed))
    throw new UsageError(`--seed must be an integer, got ${values.seed}`);
  const quiet = values["quiet-ms"].split(",").map(Number);
  const [quietMin, quietMax] = [quiet[0] ?? Number.NaN, quiet[1] ?? quiet[0] ?? Number.NaN];
  if (!(quietMin >= 100 && quietMax >= quietMin && quietMax <= 600_000)) {
    throw new UsageError(
      `--quiet-ms must be MIN,MAX ms with 100 <= MIN <= MAX, got ${values["quiet-ms"]}`,
    );
  }
  const registerKeys = Number(values.keys);
  if (!Number.isInteger(registerKeys) || registerKeys < 1 || registerKeys > 1000) {
    throw new UsageError(`--keys must be a whole number in 1..1000, got ${values.keys}`);
  }
  const registerWorkers = Number(values.workers);
  if (!Number.isInteger(registerWorkers) || registerWorkers < 1 || registerWorkers > 64) {
    throw new UsageError(`--workers must be a whole number in 1..64, got ${values.workers}`);
  }
  const holdScale = Number(values["hold-scale"]);
  if (!(holdScale > 0 && holdScale <= 10)) {
    throw new UsageError(`--hold-scale must be in (0, 10], got ${values["hold-scale"]}`);
  }
  console.log(
    `jepsen-lite: ${nodes} nodes, ${timeSec}s, nemesis ${nemesis.join(",") || "none"}, workload ${workloads.join(",")}, seed ${seed}, net ${values.net}, target ${values.target}`,
  );
  // First Ctrl-C (or SIGTERM) ends the load phase early (heal, check, clean up); a second quits.
  const interrupt = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (interrupt.signal.aborted) process.exit(130);
      console.log(`${signal}: ending the load phase (again to quit at once)`);
      interrupt.abort();
    });
  }
  const result = await run({
    signal: interrupt.signal,
    nodes,
    timeSec,
    nemesis: nemesis as NemesisName[],
    workloads: workloads as WorkloadName[],
    seed,
    net: values.target === "etcd" && net !== "root" ? "none" : net,
    target: values.target,
    storeDir: values.store,
    quietMs: [quietMin, quietMax],
    holdScale,
    unsafe: list(values.unsafe),
    registerKeys,
    registerWorkers,
    progress: (line) => console.log(line),
  });
  console.log("\nsummary");
  console.log(
    `  ops: ok ${result.counts.ok}, fail ${result.counts.fail}, info ${result.counts.info}`,
  );
  const faults = result.nemesis.filter((e) => e.kind === "start").map((e) => e.fault);
  console.log(`  faults (${faults.length}): ${faults.join(", ") || "none"}`);
  for (const [name, checker] of Object.entries(result.checkers)) {
    console.log(`  ${String(checker.valid).padEnd(7)} ${name}`);
  }
  console.log(`  valid: ${String(result.valid)}   (seed ${seed}, results in ${result.dir})`);
  return result.valid === true ? 0 : result.valid === false ? 1 : 2;
}

/** --net root: refuse before any member starts when the machine cannot do it. */
async function checkRootNet(nemesis: readonly string[]): Promise<void> {
  const available = await RootNet.available();
  if (!available.ok) throw new UsageError(`--net root is not available here: ${available.reason}`);
  if (nemesis.includes("slow")) {
    const netem = await RootNet.probeNetem();
    if (!netem.ok) {
      throw new UsageError(
        `--net root with the slow nemesis needs tc netem for delay, and this kernel has none: \`${netem.command}\` failed with "${netem.stderr}". Drop slow from --nemesis, or use --net portable`,
      );
    }
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (
      error instanceof UsageError ||
      (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
    ) {
      console.error(`${(error as Error).message}\n${USAGE}`);
      process.exit(3);
    }
    console.error(error);
    process.exit(4);
  },
);
