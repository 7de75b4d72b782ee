// platform: cairn.v1 resources changed with an expected version. Setup
// registers and logs in a run-unique user (the first user of the fresh
// cluster, hence an admin), raises the op-log retention, and creates a few
// servers and databases. Workers then loop: read a resource's version
// (Resources.Get, linearizable), and Update it with that expected version
// and a run-unique tag. After the heal, finish() reads the whole operation
// log (OpLog.List, every page linearizable) and every resource's final
// version: with the history, the input of checker/platform.ts.
//
// The tag: an update replaces the resource's labels with {"jepsen-op": opId}.
// The op-log record of a resource.update keeps the changed fields of the
// resource summary, and the labels always change (the tag is new), so the
// record's `after.labels` is "jepsen-op=<opId>" and `after.version` the new
// version. A refused update is logged with the error code as its outcome
// and no summary, so it carries no tag (the checker needs none for it).
//
// History: platform:read key=id → ok version; platform:update key=id
// {opId, expectedVersion} → ok {opId, expectedVersion, version}, fail only
// for a version conflict (ABORTED: judged at apply, nothing changed), info
// for anything else (timeout, unavailable, no leader, …).
import { Metadata, status } from "@grpc/grpc-js";
import type { cairn } from "../../src/gen/cairn.js";
import { OPLOG_SERVICE } from "../../src/server/platform/oplog.js";
import { RESOURCES_SERVICE } from "../../src/server/platform/resources.js";
import { USERS_SERVICE } from "../../src/server/platform/users.js";
import type {
  FinalResource,
  OpLogEntry,
  PlatformInput,
  PlatformUpdate,
} from "../checker/platform.js";
import type { History } from "../history/op.js";
import { type PairedOp, pairHistory } from "../history/pair.js";
import { describeError } from "./endpoints.js";
import {
  endpointChooser,
  type FinishContext,
  infoBackoffMs,
  sleep,
  type Workload,
  type WorkloadContext,
} from "./workload.js";

export interface PlatformOptions {
  readonly workers: number;
  /** Resources created in setup, servers and databases in turn. */
  readonly resources: number;
  /**
   * Chance a worker updates from the version it last saw instead of reading
   * first: often stale, so definite refusals (fail) happen too.
   */
  readonly staleProbability: number;
  readonly opsPerWorkerMax: number;
}

export const PLATFORM_DEFAULTS: PlatformOptions = {
  workers: 6,
  resources: 5,
  staleProbability: 0.2,
  opsPerWorkerMax: 100_000,
};

export const F_READ = "platform:read";
export const F_UPDATE = "platform:update";
/** The label an update sets to its opId. */
export const TAG_LABEL = "jepsen-op";

/** Register hashes the password with scrypt; setup calls get longer than ops. */
const SETUP_CALL_MS = 5_000;
const FINAL_CALL_MS = 3_000;
const OPLOG_PAGE = 500;
/** No pruning during a run: a dropped record would look like a lost update. */
const RETENTION = { maxRecords: 10_000_000, maxAgeMs: 10 * 365 * 86_400_000 };
const PASSWORD = "jepsen-lite-platform";
const ROLE_ADMIN = 1;
const ROLE_OPERATOR = 2;
const SORT_ASCENDING = 1;
const ENGINE_POSTGRESQL = 2;

/** The invoke value of an update. */
export interface UpdateInput {
  readonly opId: string;
  readonly expectedVersion: number;
}

/** The op-log record fields the conversion reads (a decoded cairn.v1.OpLogRecord fits). */
export interface RawOpLogRecord {
  readonly sequence: number;
  readonly action: string;
  readonly target: string;
  readonly outcome: string;
  readonly after: Readonly<Record<string, string>>;
}

/** What finish() read, or why it could not. */
export type PlatformObserved =
  | {
      readonly opLog: readonly OpLogEntry[];
      readonly finalState: readonly FinalResource[];
    }
  | { readonly error: string };

/** The updates in a paired history; pending ones count as info. */
export function platformUpdates(ops: readonly PairedOp[]): PlatformUpdate[] {
  const updates: PlatformUpdate[] = [];
  for (const op of ops) {
    if (op.f !== F_UPDATE || op.key === undefined) continue;
    const input = op.input as UpdateInput;
    const output = op.output as { version?: unknown } | undefined;
    const outcome = op.outcome === "ok" || op.outcome === "fail" ? op.outcome : "info";
    updates.push({
      resource: op.key,
      opId: input.opId,
      expectedVersion: input.expectedVersion,
      outcome,
      ...(outcome === "ok" && typeof output?.version === "number"
        ? { newVersion: output.version }
        : {}),
      call: op.callTime,
      ret: op.returnTime,
    });
  }
  return updates;
}

/** The opId in a resource summary's labels ("k=v,k=v"), if any. */
export function tagOf(labels: string | undefined): string | undefined {
  const prefix = `${TAG_LABEL}=`;
  return labels
    ?.split(",")
    .find((label) => label.startsWith(prefix))
    ?.slice(prefix.length);
}

/**
 * The records about the given resources, in the checker's shape: "ok" or
 * "refused" (any other outcome is an error code), the version after the
 * change, and the tag of an update.
 */
export function opLogEntries(
  records: readonly RawOpLogRecord[],
  resources: ReadonlySet<string>,
): OpLogEntry[] {
  const entries: OpLogEntry[] = [];
  for (const record of records) {
    const resource = record.target.startsWith("resource/")
      ? record.target.slice("resource/".length)
      : undefined;
    if (resource === undefined || !resources.has(resource)) continue;
    const applied = record.outcome === "ok";
    const version = applied ? Number(record.after.version) : Number.NaN;
    const opId =
      applied && record.action === "resource.update" ? tagOf(record.after.labels) : undefined;
    entries.push({
      sequence: Number(record.sequence),
      resource,
      ...(opId === undefined ? {} : { opId }),
      outcome: applied ? "ok" : "refused",
      ...(Number.isSafeInteger(version) ? { version } : {}),
    });
  }
  return entries;
}

/** The checker's input: the updates from the history, the rest from finish(). */
export function platformInput(
  history: History,
  observed: Exclude<PlatformObserved, { error: string }>,
): PlatformInput {
  return {
    updates: platformUpdates(pairHistory(history)),
    opLog: observed.opLog,
    finalState: observed.finalState,
  };
}

type Outcome = "ok" | "fail" | "info";

export class PlatformWorkload implements Workload {
  readonly name = "platform";
  private readonly resources: string[] = [];
  private username = "";
  private token: string | null = null;
  private setupError: string | null = null;
  private result: PlatformObserved | null = null;
  private readonly counts = {
    reads: { ok: 0, info: 0 },
    updates: { ok: 0, fail: 0, info: 0 },
  };

  constructor(private readonly options: PlatformOptions = PLATFORM_DEFAULTS) {}

  async run(ctx: WorkloadContext): Promise<void> {
    this.username = `jl-${ctx.rng.int(0, 36 ** 6 - 1).toString(36)}`;
    if (!(await this.setup(ctx))) return;
    await Promise.all(
      Array.from({ length: this.options.workers }, (_, w) => this.worker(ctx, w, ctx.rng.fork())),
    );
  }

  /** What finish() read; null before it ran. */
  observed(): PlatformObserved | null {
    return this.result;
  }

  summary(): Record<string, unknown> {
    const result = this.result;
    return {
      user: this.username,
      resources: this.resources,
      workers: this.options.workers,
      ...this.counts,
      ...(this.setupError === null ? {} : { setupError: this.setupError }),
      ...(result === null
        ? {}
        : "error" in result
          ? { finishError: result.error }
          : { opLogRecords: result.opLog.length, finalState: result.finalState }),
    };
  }

  /** A fresh copy per call: grpc-js may keep what it is given. */
  private auth(): Metadata {
    const metadata = new Metadata();
    if (this.token !== null) metadata.set("authorization", `Bearer ${this.token}`);
    return metadata;
  }

  /**
   * Register (ALREADY_EXISTS: an earlier attempt took effect), login, raise
   * the retention, create the resources; each step retried on the next
   * member until it succeeds or the load phase ends.
   */
  private async setup(ctx: WorkloadContext): Promise<boolean> {
    const names = ctx.endpoints.names;
    let registered = false;
    let retention = false;
    let lastError = "";
    for (let attempt = 0; !ctx.signal.aborted; attempt++) {
      const node = names[attempt % names.length] as string;
      try {
        if (!registered) {
          await ctx.endpoints
            .call(
              node,
              USERS_SERVICE.Register,
              {
                username: this.username,
                password: PASSWORD,
                email: `${this.username}@jepsen.invalid`,
              },
              SETUP_CALL_MS,
            )
            .catch((error: unknown) => {
              if ((error as { code?: number }).code !== status.ALREADY_EXISTS) throw error;
            });
          registered = true;
        }
        if (this.token === null) {
          const login = await ctx.endpoints.call(
            node,
            USERS_SERVICE.Login,
            { username: this.username, password: PASSWORD },
            SETUP_CALL_MS,
          );
          const roles = login.user?.roles ?? [];
          if (!roles.includes(ROLE_ADMIN) && !roles.includes(ROLE_OPERATOR)) {
            this.setupError = `user ${this.username} has roles [${roles.join(",")}], not admin or operator: it must be the cluster's first user (was it started with --admin-password?)`;
            return false;
          }
          this.token = login.token;
        }
        if (!retention) {
          await ctx.endpoints.call(
            node,
            OPLOG_SERVICE.SetRetention,
            RETENTION,
            SETUP_CALL_MS,
            this.auth(),
          );
          retention = true;
        }
        while (this.resources.length < this.options.resources) {
          const created = await ctx.endpoints.call(
            node,
            RESOURCES_SERVICE.Create,
            createRequest(this.resources.length),
            SETUP_CALL_MS,
            this.auth(),
          );
          const id = created.resource?.id;
          if (id === undefined || id === null || id === "") {
            throw new Error("Create returned no resource id");
          }
          this.resources.push(id);
        }
        return true;
      } catch (error) {
        lastError = `${node}: ${describeError(error)}`;
        const code = (error as { code?: number }).code;
        if (code === status.INVALID_ARGUMENT || code === status.PERMISSION_DENIED) {
          this.setupError = `setup refused: ${lastError}`;
          return false;
        }
        // A login that lost to an unapplied register says UNAUTHENTICATED: register again.
        if (code === status.UNAUTHENTICATED && this.token === null) registered = false;
        await sleep(300, ctx.signal);
      }
    }
    this.setupError = `the load phase ended before setup finished (last error ${lastError})`;
    return false;
  }

  private async worker(
    ctx: WorkloadContext,
    w: number,
    rng: WorkloadContext["rng"],
  ): Promise<void> {
    const endpoint = endpointChooser(w, ctx.endpoints.names, rng);
    const known = new Map<string, number>();
    let process = ctx.history.newProcess();
    let infos = 0;
    for (let n = 0; n < this.options.opsPerWorkerMax && !ctx.signal.aborted; n++) {
      if (ctx.history.full) return;
      const resource = rng.pick(this.resources);
      const node = endpoint.choose();
      let expected = known.get(resource);
      let outcome: Outcome = "ok";
      if (expected === undefined || rng.next() >= this.options.staleProbability) {
        const read = await this.read(ctx, process, node, resource);
        if (read === null) outcome = "info";
        else expected = read;
      }
      if (outcome === "ok" && expected !== undefined) {
        outcome = await this.update(ctx, process, node, resource, expected, known);
      }
      infos = outcome === "info" ? infos + 1 : 0;
      if (outcome === "info") process = ctx.history.newProcess();
      await sleep(rng.between(0.5, 1.5) * ctx.opGapMs + infoBackoffMs(infos), ctx.signal);
    }
  }

  /** The resource's version, or null after an info. */
  private async read(
    ctx: WorkloadContext,
    process: number,
    node: string,
    resource: string,
  ): Promise<number | null> {
    const { history } = ctx;
    const at = { process, f: F_READ, key: resource, node };
    history.record({ ...at, type: "invoke", value: null });
    try {
      const response = await ctx.endpoints.call(
        node,
        RESOURCES_SERVICE.Get,
        { id: resource },
        ctx.opTimeoutMs,
        this.auth(),
      );
      const version = Number(response.resource?.version);
      if (!Number.isSafeInteger(version)) throw new Error(`Get returned version ${version}`);
      history.record({ ...at, type: "ok", value: version });
      this.counts.reads.ok++;
      return version;
    } catch (error) {
      history.record({ ...at, type: "info", value: null, error: describeError(error) });
      this.counts.reads.info++;
      return null;
    }
  }

  private async update(
    ctx: WorkloadContext,
    process: number,
    node: string,
    resource: string,
    expectedVersion: number,
    known: Map<string, number>,
  ): Promise<Outcome> {
    const { history } = ctx;
    const input: UpdateInput = { opId: `u${ctx.nextValue()}`, expectedVersion };
    const at = { process, f: F_UPDATE, key: resource, node };
    history.record({ ...at, type: "invoke", value: input });
    try {
      const request: cairn.v1.UpdateResourceRequest.$Properties = {
        id: resource,
        expectedVersion,
        labels: { labels: { [TAG_LABEL]: input.opId } },
      };
      const response = await ctx.endpoints.call(
        node,
        RESOURCES_SERVICE.Update,
        request,
        ctx.opTimeoutMs,
        this.auth(),
      );
      const version = Number(response.resource?.version);
      history.record({ ...at, type: "ok", value: { ...input, version } });
      known.set(resource, version);
      this.counts.updates.ok++;
      return "ok";
    } catch (error) {
      known.delete(resource);
      // ABORTED is only a refusal judged at apply (a version or fence conflict; no fence here).
      const conflict = (error as { code?: number }).code === status.ABORTED;
      history.record({
        ...at,
        type: conflict ? "fail" : "info",
        value: input,
        error: describeError(error),
      });
      this.counts.updates[conflict ? "fail" : "info"]++;
      return conflict ? "fail" : "info";
    }
  }

  /**
   * After the heal: every resource's version, the whole op log, and the
   * versions again, until both version reads agree (an update still in
   * flight somewhere could land in between).
   */
  async finish(ctx: FinishContext): Promise<void> {
    if (this.token === null || this.resources.length < this.options.resources) {
      this.result = { error: this.setupError ?? "setup never finished" };
      return;
    }
    const deadline = Date.now() + ctx.timeoutMs;
    try {
      for (let attempt = 0; ; attempt++) {
        const before = await this.finalVersions(ctx, deadline);
        const records = await this.readOpLog(ctx, deadline);
        const after = await this.finalVersions(ctx, deadline);
        const stable = after.every((r, i) => r.version === before[i]?.version);
        if (stable || attempt === 2) {
          this.result = {
            opLog: opLogEntries(records, new Set(this.resources)),
            finalState: after,
          };
          return;
        }
      }
    } catch (error) {
      this.result = { error: describeError(error) };
    }
  }

  private async finalVersions(ctx: FinishContext, deadline: number): Promise<FinalResource[]> {
    const final: FinalResource[] = [];
    for (const resource of this.resources) {
      const response = await this.retrying(ctx, deadline, `Get ${resource}`, (node) =>
        ctx.endpoints.call(
          node,
          RESOURCES_SERVICE.Get,
          { id: resource },
          FINAL_CALL_MS,
          this.auth(),
        ),
      );
      final.push({ resource, version: Number(response.resource?.version) });
    }
    return final;
  }

  /** Every record, oldest first; fails if retention dropped any. */
  private async readOpLog(ctx: FinishContext, deadline: number): Promise<RawOpLogRecord[]> {
    const records: cairn.v1.OpLogRecord.$Properties[] = [];
    let pageToken = "";
    for (let page = 0; ; page++) {
      const response = await this.retrying(ctx, deadline, "OpLog.List", (node) =>
        ctx.endpoints.call(
          node,
          OPLOG_SERVICE.List,
          { order: SORT_ASCENDING, pageSize: OPLOG_PAGE, pageToken },
          FINAL_CALL_MS,
          this.auth(),
        ),
      );
      if (page === 0 && Number(response.firstSequence) > 1) {
        throw new Error(
          `op-log retention dropped records 1..${Number(response.firstSequence) - 1}`,
        );
      }
      records.push(...response.records);
      if (response.nextPageToken === "") break;
      if (response.nextPageToken === pageToken) throw new Error("OpLog.List repeated a page token");
      pageToken = response.nextPageToken;
    }
    return records.map((r) => ({
      sequence: Number(r.sequence),
      action: r.action ?? "",
      target: r.target ?? "",
      outcome: r.outcome ?? "",
      after: r.after ?? {},
    }));
  }

  /** One call, retried on every member in turn until it succeeds or the deadline passes. */
  private async retrying<T>(
    ctx: FinishContext,
    deadline: number,
    what: string,
    call: (node: string) => Promise<T>,
  ): Promise<T> {
    const names = ctx.endpoints.names;
    let lastError = "no attempt";
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      const node = names[attempt % names.length] as string;
      try {
        return await call(node);
      } catch (error) {
        lastError = `${node}: ${describeError(error)}`;
        await sleep(200);
      }
    }
    throw new Error(`${what}: no answer before the deadline (last: ${lastError})`);
  }
}

function createRequest(i: number): cairn.v1.CreateResourceRequest.$Properties {
  const size = { cpu: 1, memoryMib: 1024, diskGib: 10 };
  const common = { name: `jl-${i}`, category: "jepsen", region: "local", labels: {} };
  return i % 2 === 0
    ? {
        ...common,
        server: {
          image: "debian:12",
          ...size,
          bandwidthMbps: 100,
          hostname: `jl-${i}.example.com`,
        },
      }
    : {
        ...common,
        database: { engine: ENGINE_POSTGRESQL, version: "16", ...size, replicas: 0 },
      };
}
