// Runs a fault plan against a live cluster, one fault at a time: resolve the
// targets (the leader is looked up when the fault starts), inject, hold,
// heal, and log both edges to nemesis.jsonl. A fault that fails to start is
// still logged with a stop, so every start has its stop.
import { createWriteStream, rmSync, type WriteStream } from "node:fs";
import { CLUSTER_SERVICE } from "../../src/server/services.js";
import type { Net } from "../net/net.js";
import { Rng } from "../runner/rng.js";
import type { Target } from "../runner/target.js";
import type { Endpoints } from "../workloads/endpoints.js";
import { sleep } from "../workloads/workload.js";
import type { FaultKind } from "./faults.js";
import { type Cut, partitionShape, withoutQuorum } from "./partitions.js";
import type { PlannedFault } from "./plan.js";

export interface NemesisEvent {
  readonly time: number;
  readonly kind: "start" | "stop";
  readonly fault: FaultKind;
  readonly detail: Record<string, unknown>;
}

export interface NemesisContext {
  readonly cluster: Target;
  readonly net: Net;
  readonly endpoints: Endpoints;
  /** ms since run start */
  readonly now: () => number;
  readonly logPath: string | null;
  /** Told before and after each fault, e.g. for the progress line. */
  readonly onEvent?: (event: NemesisEvent) => void;
  /**
   * A leader cut off from a majority must have stepped down once a partition
   * has lasted this long (check-quorum: within two election timeouts, plus
   * slack); longer partitions record who still claims to lead. Default 3 s.
   */
  readonly stepDownBoundMs?: number;
}

type Heal = () => Promise<Record<string, unknown>>;

interface Started {
  readonly detail: Record<string, unknown>;
  readonly heal: Heal;
}

const ADMIN_TIMEOUT_MS = 3_000;
export const STEP_DOWN_BOUND_MS_DEFAULT = 3_000;
/** How long the member nemesis keeps retrying MemberAdd before it gives up. */
const MEMBER_ADD_RETRY_MS = 30_000;
/** How long the member nemesis waits for a re-added member to catch up. */
const CATCH_UP_WAIT_MS = 30_000;

export class Nemesis {
  readonly events: NemesisEvent[] = [];
  private readonly out: WriteStream | null;

  constructor(private readonly ctx: NemesisContext) {
    this.out = ctx.logPath === null ? null : createWriteStream(ctx.logPath, { flags: "w" });
  }

  /** Runs the plan until done or aborted; an abort heals the current fault at once. */
  async run(plan: readonly PlannedFault[], signal: AbortSignal): Promise<void> {
    for (const fault of plan) {
      await sleep(fault.startMs - this.ctx.now(), signal);
      if (signal.aborted) return;
      let started: Started;
      try {
        started = await this.start(fault);
      } catch (error) {
        const detail = { error: String((error as Error).message ?? error) };
        this.log("start", fault.kind, detail);
        this.log("stop", fault.kind, { ...detail, skipped: true });
        continue;
      }
      this.log("start", fault.kind, started.detail);
      await sleep(fault.stopMs - this.ctx.now(), signal);
      let healed: Record<string, unknown>;
      try {
        healed = await started.heal();
      } catch (error) {
        healed = { error: String((error as Error).message ?? error) };
      }
      this.log("stop", fault.kind, healed);
    }
  }

  async close(): Promise<void> {
    const out = this.out;
    if (out !== null) await new Promise<void>((done) => out.end(() => done()));
  }

  private log(kind: "start" | "stop", fault: FaultKind, detail: Record<string, unknown>): void {
    const event: NemesisEvent = { time: this.ctx.now(), kind, fault, detail };
    this.events.push(event);
    this.out?.write(`${JSON.stringify(event)}\n`);
    this.ctx.onEvent?.(event);
  }

  private running(): string[] {
    return this.ctx.cluster.members.filter((m) => m.process !== null).map((m) => m.name);
  }

  private async leader(): Promise<string | null> {
    const statuses = await Promise.all(this.running().map((n) => this.ctx.cluster.status(n)));
    return statuses.find((s) => s?.role === "leader")?.leaderName ?? null;
  }

  private async start(fault: PlannedFault): Promise<Started> {
    const rng = new Rng(fault.seed);
    const { cluster, net } = this.ctx;
    const names = cluster.members.map((m) => m.name);
    switch (fault.kind) {
      case "partition-one":
      case "partition-majority":
      case "partition-majorities-ring":
      case "partition-bridge":
      case "partition-one-way":
      case "partition-isolate-leader": {
        const leader = fault.kind === "partition-isolate-leader" ? await this.leader() : null;
        if (fault.kind === "partition-isolate-leader" && leader === null) {
          throw new Error("no leader to isolate");
        }
        const shape = partitionShape(fault.kind, names, leader, rng);
        for (const cut of shape.cuts) await net.cut(cut.src, cut.dst);
        const cutAtMs = this.ctx.now();
        return {
          detail: {
            partition: shape.description,
            cuts: shape.cuts.map((c) => `${c.src}->${c.dst}`),
          },
          heal: async () => {
            const stepDown = await this.leadersWithoutQuorum(names, shape.cuts, cutAtMs);
            await net.heal();
            return { healed: "network", ...stepDown };
          },
        };
      }
      case "slow":
      case "lossy": {
        const shape =
          fault.kind === "slow"
            ? { delayMs: rng.int(50, 200), jitterMs: rng.int(10, 50), lossPct: 0 }
            : { delayMs: 0, jitterMs: 0, lossPct: rng.int(5, 20) };
        for (const src of names) {
          for (const dst of names) if (src !== dst) await net.shape(src, dst, shape);
        }
        return {
          detail: { links: "all", ...shape },
          heal: async () => {
            await net.heal();
            return { healed: "network" };
          },
        };
      }
      case "kill":
      case "kill-leader":
      case "kill-all": {
        const victims = await this.victims(fault.kind, rng);
        await Promise.all(victims.map((v) => cluster.kill(v, "SIGKILL")));
        return {
          detail: { nodes: victims, signal: "SIGKILL" },
          heal: async () => {
            for (const v of victims) await this.restart(v);
            return { restarted: victims };
          },
        };
      }
      case "pause":
      case "pause-leader": {
        const [victim] = await this.victims(fault.kind, rng);
        if (victim === undefined || !cluster.signal(victim, "SIGSTOP")) {
          throw new Error("no running member to pause");
        }
        return {
          detail: { nodes: [victim], signal: "SIGSTOP" },
          heal: async () => {
            cluster.signal(victim, "SIGCONT");
            return { resumed: [victim], signal: "SIGCONT" };
          },
        };
      }
      case "member":
        return this.removeMember(rng);
      default: {
        const unknown: never = fault.kind;
        throw new Error(`unknown fault ${String(unknown)}`);
      }
    }
  }

  /**
   * Just before a partition heals: which members cut off from a majority
   * still say they lead. Only judged once the partition is older than
   * stepDownBoundMs; members that do not answer are listed as unknown.
   */
  private async leadersWithoutQuorum(
    names: readonly string[],
    cuts: readonly Cut[],
    cutAtMs: number,
  ): Promise<Record<string, unknown>> {
    const heldMs = this.ctx.now() - cutAtMs;
    const boundMs = this.ctx.stepDownBoundMs ?? STEP_DOWN_BOUND_MS_DEFAULT;
    if (heldMs < boundMs) return {};
    const running = new Set(this.running());
    const minority = withoutQuorum(names, cuts).filter((n) => running.has(n));
    const statuses = await Promise.all(minority.map((n) => this.ctx.cluster.status(n)));
    return {
      stepDown: {
        heldMs: Math.round(heldMs),
        boundMs,
        withoutQuorum: minority,
        stillLeading: minority.filter((_, i) => statuses[i]?.role === "leader"),
        unknown: minority.filter((_, i) => statuses[i] === null),
      },
    };
  }

  private async victims(kind: FaultKind, rng: Rng): Promise<string[]> {
    const running = this.running();
    if (kind === "kill-all") return running;
    if (kind === "kill-leader" || kind === "pause-leader") {
      const leader = await this.leader();
      if (leader === null) throw new Error("no leader to target");
      return [leader];
    }
    if (running.length === 0) throw new Error("no running member");
    return [rng.pick(running)];
  }

  private async restart(name: string): Promise<void> {
    const member = this.ctx.cluster.member(name);
    if (member.process === null) this.ctx.cluster.startMember(name);
    await this.ctx.net.restarted(name).catch(() => undefined);
  }

  /**
   * Waits (bounded) until a re-added member has applied what the others had
   * when it started. Until then it is not healed: a joiner killed before its
   * first snapshot restarts with no peer addresses and stays stuck (a cairn
   * bug this harness found; see README "Track record").
   */
  private async caughtUp(name: string): Promise<boolean> {
    const { cluster } = this.ctx;
    const deadline = Date.now() + CATCH_UP_WAIT_MS;
    let target = 0;
    while (Date.now() < deadline) {
      if (target === 0) {
        const others = await Promise.all(
          this.running()
            .filter((n) => n !== name)
            .map((n) => cluster.status(n)),
        );
        target = Math.max(0, ...others.map((s) => Number(s?.appliedIndex ?? 0)));
      }
      const status = await cluster.status(name);
      if (target > 0 && status !== null && Number(status.appliedIndex) >= target) return true;
      await sleep(200);
    }
    return false;
  }

  /** Any running member that answers, for admin calls. */
  private async admin<T>(call: (name: string) => Promise<T>): Promise<T> {
    let last: unknown = new Error("no running member");
    for (const name of this.running()) {
      try {
        return await call(name);
      } catch (error) {
        last = error;
      }
    }
    throw last;
  }

  /** Removes a non-leader member, wipes it; the heal adds it back under a new id. */
  private async removeMember(rng: Rng): Promise<Started> {
    const { cluster, endpoints } = this.ctx;
    const leader = await this.leader();
    const candidates = this.running().filter((n) => n !== leader);
    if (leader === null || candidates.length === 0) throw new Error("no leader or no follower");
    const victim = rng.pick(candidates);
    const member = cluster.member(victim);
    const list = await endpoints.call(leader, CLUSTER_SERVICE.MemberList, {}, ADMIN_TIMEOUT_MS);
    const entry = list.members.find((m) => m.name === victim);
    if (entry === undefined) throw new Error(`${victim} is not in the member list`);
    await endpoints.call(
      leader,
      CLUSTER_SERVICE.MemberRemove,
      { ID: entry.ID ?? 0 },
      ADMIN_TIMEOUT_MS,
    );
    await cluster.kill(victim, "SIGKILL");
    rmSync(member.dataDir, { recursive: true, force: true });
    return {
      detail: { removed: victim, id: String(entry.ID) },
      heal: async () => {
        const peerUrl = `http://${member.peer}`;
        const deadline = Date.now() + MEMBER_ADD_RETRY_MS;
        let id: string | null = null;
        while (id === null && Date.now() < deadline) {
          try {
            const added = await this.admin((n) =>
              endpoints.call(
                n,
                CLUSTER_SERVICE.MemberAdd,
                { peerURLs: [peerUrl] },
                ADMIN_TIMEOUT_MS,
              ),
            );
            id = String(added.member?.ID ?? "");
          } catch (error) {
            // An earlier attempt may have landed: then the URL is taken by our member.
            const listed = await this.admin((n) =>
              endpoints.call(n, CLUSTER_SERVICE.MemberList, {}, ADMIN_TIMEOUT_MS),
            ).catch(() => null);
            const existing = listed?.members.find((m) => m.peerURLs?.includes(peerUrl) === true);
            if (existing !== undefined) id = String(existing.ID);
            else await sleep(500);
            if (id === null && Date.now() >= deadline) throw error;
          }
        }
        member.joining = true;
        await this.restart(victim);
        return { added: victim, id, caughtUp: await this.caughtUp(victim) };
      },
    };
  }
}
