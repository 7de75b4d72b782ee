// One jepsen-lite run: start the cluster (behind the chosen network backend),
// drive the workloads while the nemesis plays its plan, heal, run the final
// reads and hash comparison, check the history, and write the store dir.

import { setMaxListeners } from "node:events";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ProcessCluster } from "../../cluster/process-cluster.js";
import { CLUSTER_SERVICE } from "../../src/server/services.js";
import { nonFiniteAsString } from "../checker/combine.js";
import { checkLeaderStepDown } from "../checker/leader-step-down.js";
import type { LeaderSample } from "../checker/lease.js";
import { familiesOfNames, type NemesisName, serveArgsFor } from "../nemesis/faults.js";
import { Nemesis, type NemesisEvent } from "../nemesis/nemesis.js";
import { planFaults } from "../nemesis/plan.js";
import { InprocNet, type Net, type NetBackend, NoNet, PortableNet } from "../net/net.js";
import { RootNet } from "../net/root.js";
import { renderReport } from "../report/render.js";
import { Endpoints } from "../workloads/endpoints.js";
import { LeaseWorkload } from "../workloads/lease.js";
import { LOCK_DEFAULTS, LockWorkload } from "../workloads/lock.js";
import { PlatformWorkload } from "../workloads/platform.js";
import { REGISTER_DEFAULTS, RegisterWorkload } from "../workloads/register.js";
import { WatchWorkload } from "../workloads/watch.js";
import { sleep, type Workload } from "../workloads/workload.js";
import { check, combine } from "./check.js";
import { EtcdTarget } from "./etcd-target.js";
import { compareHashes, finalReads, healAll } from "./final.js";
import { History } from "./history.js";
import { LeaderSampler } from "./leader-samples.js";
import { checkNodeLogs } from "./node-logs.js";
import type { CheckerResult, DetailedResult, Validity } from "./results.js";
import { Rng } from "./rng.js";
import type { Target } from "./target.js";

export const WORKLOADS = [
  "register",
  "lock",
  "lock-unfenced",
  "lease",
  "watch",
  "platform",
] as const;
/** Workloads that need cairn's own API (cairn.v1), which etcd lacks. */
export const CAIRN_ONLY_WORKLOADS: readonly WorkloadName[] = ["platform"];
export type WorkloadName = (typeof WORKLOADS)[number];

export interface RunOptions {
  readonly nodes: number;
  readonly timeSec: number;
  /** Nemesis families and single fault kinds. */
  readonly nemesis: readonly NemesisName[];
  readonly workloads: readonly WorkloadName[];
  readonly seed: number;
  readonly net: NetBackend;
  /** The system under test (default cairn); etcd takes network nemeses only with net "root". */
  readonly target?: "cairn" | "etcd";
  /** Parent of the run's directory (default jepsen-lite/store). */
  readonly storeDir: string;
  readonly opTimeoutMs?: number;
  readonly opGapMs?: number;
  readonly quietMs?: readonly [number, number];
  readonly holdScale?: number;
  /** Minimum ok ops before the first fault; fewer makes the run "unknown". */
  readonly minOkBeforeFault?: number;
  readonly progress?: (line: string) => void;
  readonly keepCluster?: "always" | "on-failure";
  /** Ends the load phase early (the run still heals, checks and cleans up). */
  readonly signal?: AbortSignal;
  /** cairn's planted bugs (`cairn serve --unsafe`), to check that the checkers catch them. */
  readonly unsafe?: readonly string[];
  /** Keys the register workload spreads over (fewer keys: more contention per key). */
  readonly registerKeys?: number;
  /** Concurrent register clients (more clients: more reads land in a short stale window). */
  readonly registerWorkers?: number;
}

export interface RunResult {
  readonly valid: Validity;
  readonly dir: string;
  readonly counts: Record<"invoke" | "ok" | "fail" | "info", number>;
  readonly checkers: Record<string, CheckerResult>;
  readonly nemesis: readonly NemesisEvent[];
}

export const REGISTER_KEYS_DEFAULT = 10;
const LEADER_WAIT_MS = 30_000;
const FINAL_TIMEOUT_MS = 30_000;
/** After the load phase is told to stop, how long workers get to finish. */
const DRAIN_MS_MAX = 15_000;
/** After healing, how much longer the checkers wait for workers still finishing a round. */
const LATE_DRAIN_MS_MAX = 30_000;

function makeWorkload(name: WorkloadName, options: RunOptions): Workload {
  switch (name) {
    case "register":
      return new RegisterWorkload({
        ...REGISTER_DEFAULTS,
        keys: options.registerKeys ?? REGISTER_KEYS_DEFAULT,
        workers: options.registerWorkers ?? REGISTER_DEFAULTS.workers,
      });
    case "lock":
      return new LockWorkload({ ...LOCK_DEFAULTS, fenced: true });
    case "lock-unfenced":
      return new LockWorkload({ ...LOCK_DEFAULTS, fenced: false });
    case "lease":
      return new LeaseWorkload();
    case "watch":
      return new WatchWorkload();
    case "platform":
      return new PlatformWorkload();
    default: {
      const unknown: never = name;
      throw new Error(`unknown workload ${String(unknown)}`);
    }
  }
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, "-");
}

export async function run(options: RunOptions): Promise<RunResult> {
  const cairnOnly = options.workloads.filter((w) => CAIRN_ONLY_WORKLOADS.includes(w));
  if (options.target === "etcd" && cairnOnly.length > 0) {
    throw new Error(`--target etcd cannot run ${cairnOnly.join(",")}: etcd has no cairn.v1 API`);
  }
  const dir = resolve(options.storeDir, stamp());
  mkdirSync(dir, { recursive: true });
  const say = options.progress ?? (() => undefined);
  const startNs = process.hrtime.bigint();
  const history = new History(join(dir, "history.jsonl"), startNs);
  let endpoints: Endpoints | null = null;
  const { cluster, net: theNet, leader } = await startTargetUp(options, () => endpoints);
  endpoints = new Endpoints(cluster.members.map((m) => ({ name: m.name, address: m.client })));
  // If the harness exits mid-run (a second Ctrl-C), take the members with it.
  const killMembers = (): void => {
    for (const m of cluster.members) m.process?.kill("SIGKILL");
    rmSync(cluster.dir, { recursive: true, force: true });
  };
  process.once("exit", killMembers);
  const nemesis = new Nemesis({
    cluster,
    net: theNet,
    endpoints,
    now: () => history.now(),
    logPath: join(dir, "nemesis.jsonl"),
    onEvent: (e) =>
      say(
        `[${(e.time / 1000).toFixed(1)}s] nemesis ${e.kind} ${e.fault} ${JSON.stringify(e.detail)}`,
      ),
  });
  let valid: Validity = "unknown";
  const leaders = new LeaderSampler(cluster, () => history.now());
  leaders.start();
  try {
    say(`cluster of ${options.nodes} up (leader ${leader}), net ${theNet.backend}, store ${dir}`);
    const phase = { options, history, endpoints, nemesis, say, leaders };
    const { workloads, firstFaultMs, load } = await loadPhase(phase);
    const checkers = await judge(phase, cluster, theNet, workloads, firstFaultMs, load);
    valid = combine(Object.values(checkers).map((c) => c.valid));
    const counts = countTypes(history);
    writeFileSync(
      join(dir, "results.json"),
      `${JSON.stringify(
        {
          valid,
          options: { ...options, progress: undefined, signal: undefined },
          counts,
          checkers,
          workloads: Object.fromEntries(workloads.map((w) => [w.name, w.summary()])),
          faults: countFaults(nemesis.events),
          // Leader presence as it changed (the lease checker's input), for a person reading a failure.
          leaders: leaderChanges(leaders.samples),
        },
        // Indeterminate ops complete at +Infinity, which JSON cannot hold.
        nonFiniteAsString,
        2,
      )}\n`,
    );
    writeFileSync(
      join(dir, "report.html"),
      renderReport(
        history.ops,
        nemesis.events,
        { valid, checkers, counts },
        { title: `jepsen-lite: ${options.workloads.join(",")} under ${options.nemesis.join(",")}` },
      ),
    );
    return { valid, dir, counts, checkers, nemesis: nemesis.events };
  } finally {
    await leaders.stop();
    process.removeListener("exit", killMembers);
    endpoints.close();
    await history.close();
    await nemesis.close();
    const keep = options.keepCluster === "always" || valid !== true;
    if (keep) {
      await cluster.stop(true);
      cpSync(cluster.dir, join(dir, "cluster"), { recursive: true });
    }
    await cluster.stop(false);
    await theNet.close();
  }
}

interface Phase {
  readonly options: RunOptions;
  /** Leader presence, sampled from the load phase until the checks. */
  readonly leaders: LeaderSampler;
  readonly history: History;
  readonly endpoints: Endpoints;
  readonly nemesis: Nemesis;
  readonly say: (line: string) => void;
}

/** Workloads and the nemesis plan run together for --time seconds (or until interrupted). */
async function loadPhase(
  phase: Phase,
): Promise<{ workloads: Workload[]; firstFaultMs: number; load: Promise<unknown> }> {
  const { options, history, endpoints, nemesis, say } = phase;
  const loadStartMs = history.now();
  const plan = planFaults({
    seed: options.seed,
    families: options.nemesis,
    nodes: options.nodes,
    durationMs: loadStartMs + options.timeSec * 1000,
    ...(options.quietMs === undefined ? {} : { quietMs: options.quietMs }),
    ...(options.holdScale === undefined ? {} : { holdScale: options.holdScale }),
  }).map((f) => ({ ...f, startMs: f.startMs + loadStartMs, stopMs: f.stopMs + loadStartMs }));
  const rng = new Rng(options.seed ^ 0x5eed);
  let value = 0;
  const leaseIdBase = rng.int(1, 2 ** 40);
  const workloads = options.workloads.map((name) => makeWorkload(name, options));
  const stop = new AbortController();
  // Every sleeping worker listens on it at once.
  setMaxListeners(256, stop.signal);
  const ctx = {
    history,
    endpoints,
    signal: stop.signal,
    opTimeoutMs: options.opTimeoutMs ?? 1_500,
    opGapMs: options.opGapMs ?? 100,
    nextValue: () => ++value,
    nextLeaseId: () => leaseIdBase + ++value,
  };
  const load = Promise.all(workloads.map((w) => w.run({ ...ctx, rng: rng.fork() })));
  const faults = nemesis.run(plan, stop.signal);
  const ticker = setInterval(() => say(progressLine(history, nemesis.events)), 5_000);
  await sleep(options.timeSec * 1000, options.signal);
  stop.abort();
  await faults;
  await Promise.race([load, sleepMs(DRAIN_MS_MAX)]);
  clearInterval(ticker);
  say(`load done: ${progressLine(history, nemesis.events)}; healing`);
  return { workloads, firstFaultMs: plan[0]?.startMs ?? Number.POSITIVE_INFINITY, load };
}

/** Heal, final reads and hashes, then every checker: the runner's own and the workloads'. */
async function judge(
  phase: Phase,
  cluster: Target,
  net: Net,
  workloads: readonly Workload[],
  firstFaultMs: number,
  load: Promise<unknown>,
): Promise<Record<string, DetailedResult | CheckerResult>> {
  const { options, history, endpoints } = phase;
  const checkers: Record<string, DetailedResult | CheckerResult> = {};
  const restarted = await healAll(cluster, net);
  const finalLeader = await cluster.waitForLeader(LEADER_WAIT_MS).catch(() => null);
  checkers.heal = {
    valid: finalLeader !== null,
    checker: "a leader after healing",
    leader: finalLeader,
    restarted,
  };
  if (finalLeader !== null) {
    const finalOptions = {
      cluster,
      net,
      endpoints,
      history,
      keys:
        workloads
          .find((w): w is RegisterWorkload => w instanceof RegisterWorkload)
          ?.currentKeys() ?? [],
      timeoutMs: FINAL_TIMEOUT_MS,
    };
    checkers["final-reads"] = await finalReads(finalOptions);
    checkers["kv-hash"] = await compareHashes(finalOptions);
    // The workloads' own final reads (the platform's op log and final versions).
    for (const workload of workloads) {
      await workload.finish?.({ endpoints, timeoutMs: FINAL_TIMEOUT_MS });
    }
  }
  const okBefore = history.ops.filter((o) => o.type === "ok" && o.time < firstFaultMs).length;
  const minOk = options.minOkBeforeFault ?? 10;
  checkers.throughput = {
    valid: okBefore >= minOk ? true : "unknown",
    checker: `at least ${minOk} ok ops before the first fault`,
    okBeforeFirstFault: okBefore,
  };
  if (familiesOfNames(options.nemesis).includes("partition")) {
    checkers["leader-step-down"] = checkLeaderStepDown(phase.nemesis.events);
  }
  checkers["node-logs"] = checkNodeLogs(new Map(cluster.members.map((m) => [m.name, m.logFile])));
  const locks = Object.fromEntries(
    workloads
      .filter((w): w is LockWorkload => w instanceof LockWorkload)
      .map((w) => [w.name, { fenced: w.fenced, log: w.lockLog(), leaseTtlMs: w.leaseTtlMs }]),
  );
  const watch = workloads.find((w): w is WatchWorkload => w instanceof WatchWorkload)?.observed();
  const platform = workloads
    .find((w): w is PlatformWorkload => w instanceof PlatformWorkload)
    ?.observed();
  const electionTimeoutMs = 1_000;
  // Rounds that outlived the drain (a lease not yet seen gone) can finish now that all is healed.
  await Promise.race([load, sleepMs(LATE_DRAIN_MS_MAX)]);
  const leaderSamples = await phase.leaders.stop();
  const result = await check(history.ops, options.workloads, {
    locks,
    electionTimeoutMs,
    leaderSamples,
    leaseRefreshOnLeaderChange: options.target === "etcd",
    ...(watch === undefined ? {} : { watch }),
    ...(platform === undefined || platform === null ? {} : { platform }),
  });
  return { ...checkers, ...result.checkers };
}

/** Start attempts when a member lost its port to another process (EADDRINUSE). */
const START_ATTEMPTS_MAX = 3;

/**
 * Starts the target and waits for its first leader. Ports are picked free and
 * then handed to the members, so another process on the machine (a second
 * harness, a parallel test file) can take one in between: a member then dies
 * with EADDRINUSE and no leader appears. Such a start is retried on fresh
 * ports; any other failure is thrown as is, with the cluster stopped.
 */
async function startTargetUp(
  options: RunOptions,
  endpoints: () => Endpoints | null,
): Promise<{ cluster: Target; net: Net; leader: string }> {
  for (let attempt = 1; ; attempt++) {
    const { cluster, net } = await startTarget(options, endpoints);
    try {
      return { cluster, net, leader: await cluster.waitForLeader(LEADER_WAIT_MS) };
    } catch (error) {
      // cairn says EADDRINUSE; etcd says "bind: address already in use".
      const portTaken = cluster.members.some((m) =>
        logMentions(m.logFile, ["EADDRINUSE", "address already in use"]),
      );
      await cluster.stop(false);
      await net.close();
      if (!portTaken || attempt >= START_ATTEMPTS_MAX) throw error;
      options.progress?.(
        `a member's port was taken by another process; starting again (attempt ${attempt + 1})`,
      );
    }
  }
}

function logMentions(file: string, texts: readonly string[]): boolean {
  try {
    const log = readFileSync(file, "utf8");
    return texts.some((text) => log.includes(text));
  } catch {
    return false;
  }
}

/**
 * Etcd: a real etcd 3.4, with no network faults unless net is "root". Cairn:
 * members behind the chosen Net. With "root", every member runs in its own
 * network namespace (the net starts first: it decides the members' addresses).
 */
async function startTarget(
  options: RunOptions,
  endpoints: () => Endpoints | null,
): Promise<{ cluster: Target; net: Net }> {
  const snapshot = options.nemesis.includes("snapshot") ? ["--snapshot-count", "50"] : [];
  if (options.net === "root") {
    const names = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
    const root = await RootNet.start(names);
    try {
      if (options.nemesis.includes("slow") && !root.netem.ok) {
        throw new Error(
          `--net root cannot run the slow nemesis on this kernel: \`${root.netem.command}\` failed with "${root.netem.stderr}"`,
        );
      }
      const placement = { hostOf: (n: string) => root.host(n), wrap: (n: string) => root.wrap(n) };
      const cluster =
        options.target === "etcd"
          ? await EtcdTarget.start(options.nodes, snapshot, placement)
          : await ProcessCluster.start({
              size: options.nodes,
              names,
              extraArgs: cairnArgs(options),
              ...placement,
            });
      return { cluster, net: root };
    } catch (error) {
      await root.close();
      throw error;
    }
  }
  if (options.target === "etcd") {
    return { cluster: await EtcdTarget.start(options.nodes, snapshot), net: new NoNet() };
  }
  let net: Net | null = null;
  let cluster: ProcessCluster | null = null;
  // Inproc rules name peers by id; a member re-added by MemberAdd has a new one.
  const idOf = async (name: string): Promise<number> => {
    for (const member of cluster?.members.filter((m) => m.process !== null) ?? []) {
      try {
        const list = await endpoints()?.call(member.name, CLUSTER_SERVICE.MemberList, {}, 2_000);
        const found = list?.members.find((m) => m.name === name);
        if (found?.ID !== undefined && found.ID !== null) return Number(found.ID);
      } catch {
        // next member
      }
    }
    throw new Error(`no id for ${name}`);
  };
  cluster = await ProcessCluster.start({
    size: options.nodes,
    extraArgs: cairnArgs(options),
    beforeStart: async (c) => {
      net =
        options.net === "inproc"
          ? new InprocNet((name, rules) => c.faults(name, rules), idOf)
          : await PortableNet.start(c.members.map((m) => ({ name: m.name, peer: m.peer })));
    },
    memberArgs: (name) => net?.serveArgs(name) ?? [],
  });
  return { cluster, net: net as unknown as Net };
}

/** The `cairn serve` flags every member gets: the nemeses' and the planted bugs'. */
function cairnArgs(options: RunOptions): string[] {
  const unsafe = options.unsafe ?? [];
  return [
    ...serveArgsFor(options.nemesis),
    ...(unsafe.length > 0 ? ["--unsafe-test-mode", "--unsafe", unsafe.join(",")] : []),
  ];
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

export function countTypes(history: History): Record<"invoke" | "ok" | "fail" | "info", number> {
  const counts = { invoke: 0, ok: 0, fail: 0, info: 0 };
  for (const op of history.ops) counts[op.type]++;
  return counts;
}

function leaderChanges(samples: readonly LeaderSample[]): LeaderSample[] {
  return samples.filter(
    (s, i) => i === 0 || s.led !== samples[i - 1]?.led || s.leader !== samples[i - 1]?.leader,
  );
}

function countFaults(events: readonly NemesisEvent[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of events) if (e.kind === "start") counts[e.fault] = (counts[e.fault] ?? 0) + 1;
  return counts;
}

function progressLine(history: History, events: readonly NemesisEvent[]): string {
  const c = countTypes(history);
  const last = events.at(-1);
  const active = last?.kind === "start" ? last.fault : "none";
  return `t=${(history.now() / 1000).toFixed(0)}s ops ok=${c.ok} fail=${c.fail} info=${c.info} faults=${events.filter((e) => e.kind === "start").length} active=${active}`;
}
