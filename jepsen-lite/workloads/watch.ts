// watch: writers put (and sometimes delete) run-unique values under w/ while
// one watcher per member (pinned) watches the prefix from revision 1. When a
// stream breaks (a kill, a timeout) the watcher opens a new session at the
// last revision it saw + 1. The acknowledged writes (with the revision from
// the response header) and every watcher's sessions are the checker's input,
// in the shape of jepsen-lite/checker/watch.ts. Writers' ops also go into the
// history as watch:put / watch:delete.
import { KV_SERVICE } from "../../src/server/services.js";
import { WATCH_SERVICE } from "../../src/server/watch/watch-service.js";
import { openBidiStream } from "../../src/transport/grpc-codec.js";
import type { AckedWrite, WatchEvent, WatchFilter } from "../checker/watch.js";
import { bytes, describeError, text } from "./endpoints.js";
import {
  endpointChooser,
  infoBackoffMs,
  sleep,
  type Workload,
  type WorkloadContext,
} from "./workload.js";

export type { AckedWrite, WatchEvent, WatchFilter };

/** checker/watch.ts's session, filled in as responses arrive. */
export interface WatchSession {
  readonly startRevision: number;
  readonly responses: WatchEvent[][];
  progressRevision?: number;
}

export interface WatcherLog {
  readonly watcher: string;
  readonly filter: WatchFilter;
  readonly sessions: WatchSession[];
}

export interface WatchObserved {
  readonly writes: readonly AckedWrite[];
  readonly watchers: readonly WatcherLog[];
}

export interface WatchOptions {
  readonly writers: number;
  readonly keys: number;
  /** After the writers stop, how long watchers may take to catch up. */
  readonly catchUpMs: number;
  /** A stream with no response for this long is abandoned and reopened. */
  readonly idleMs: number;
  readonly opsPerWriterMax: number;
  readonly sessionsPerWatcherMax: number;
}

export const WATCH_DEFAULTS: WatchOptions = {
  // Enough writes that a stream sees 1000+ events in a short run (watch-skip drops every 1000th).
  writers: 8,
  keys: 5,
  catchUpMs: 10_000,
  idleMs: 5_000,
  opsPerWriterMax: 100_000,
  sessionsPerWatcherMax: 1_000,
};

const PREFIX = "w/";
/** Bounds the recorded responses per watcher. */
const RESPONSES_PER_WATCHER_MAX = 200_000;
const EVENT_DELETE = 1;

export class WatchWorkload implements Workload {
  readonly name = "watch";
  private readonly writes: AckedWrite[] = [];
  private readonly watchers: WatcherLog[] = [];
  private writersDone = false;
  private catchUpDeadlineMs = Number.POSITIVE_INFINITY;
  private readonly counts = { puts: 0, deletes: 0, info: 0, sessions: 0, events: 0 };

  constructor(private readonly options: WatchOptions = WATCH_DEFAULTS) {}

  observed(): WatchObserved {
    return { writes: this.writes, watchers: this.watchers };
  }

  summary(): Record<string, unknown> {
    return { ...this.counts, ackedWrites: this.writes.length, watchers: this.watchers.length };
  }

  async run(ctx: WorkloadContext): Promise<void> {
    const watching = ctx.endpoints.names.map((name) => this.watcher(ctx, name));
    await Promise.all(
      Array.from({ length: this.options.writers }, (_, w) => this.writer(ctx, w, ctx.rng.fork())),
    );
    this.catchUpDeadlineMs = Date.now() + this.options.catchUpMs;
    this.writersDone = true;
    await Promise.all(watching);
  }

  private async writer(
    ctx: WorkloadContext,
    w: number,
    rng: WorkloadContext["rng"],
  ): Promise<void> {
    const endpoint = endpointChooser(w + 3, ctx.endpoints.names, rng);
    let process = ctx.history.newProcess();
    let infos = 0;
    for (let n = 0; n < this.options.opsPerWriterMax && !ctx.signal.aborted; n++) {
      if (ctx.history.full) return;
      const key = `${PREFIX}${rng.int(0, this.options.keys - 1)}`;
      const node = endpoint.choose();
      const del = rng.next() < 0.1;
      const f = del ? "watch:delete" : "watch:put";
      const value = del ? null : ctx.nextValue();
      ctx.history.record({ process, type: "invoke", f, key, value, node });
      try {
        if (del) {
          const response = await ctx.endpoints.call(
            node,
            KV_SERVICE.DeleteRange,
            { key: bytes(key) },
            ctx.opTimeoutMs,
          );
          // A delete of a missing key makes no revision and no event.
          if (Number(response.deleted) > 0) {
            this.writes.push({
              key,
              revision: Number(response.header?.revision ?? 0),
              type: "delete",
            });
          }
          this.counts.deletes++;
        } else {
          const response = await ctx.endpoints.call(
            node,
            KV_SERVICE.Put,
            { key: bytes(key), value: bytes(String(value)) },
            ctx.opTimeoutMs,
          );
          this.writes.push({
            key,
            revision: Number(response.header?.revision ?? 0),
            type: "put",
            value,
          });
          this.counts.puts++;
        }
        ctx.history.record({ process, type: "ok", f, key, value, node });
        infos = 0;
      } catch (error) {
        this.counts.info++;
        infos++;
        ctx.history.record({
          process,
          type: "info",
          f,
          key,
          value,
          node,
          error: describeError(error),
        });
        process = ctx.history.newProcess();
      }
      await sleep(rng.between(0.5, 1.5) * ctx.opGapMs + infoBackoffMs(infos), ctx.signal);
    }
  }

  private lastAckedRevision(): number {
    return this.writes.reduce((max, w) => Math.max(max, w.revision), 0);
  }

  /** Writers stopped, and everything acknowledged arrived or the catch-up time is over. */
  private watcherDone(next: number): boolean {
    if (!this.writersDone) return false;
    return next > this.lastAckedRevision() || Date.now() > this.catchUpDeadlineMs;
  }

  private async watcher(ctx: WorkloadContext, node: string): Promise<void> {
    const log: WatcherLog = {
      watcher: `watch@${node}`,
      filter: { key: PREFIX, prefix: true },
      sessions: [],
    };
    this.watchers.push(log);
    let next = 1;
    let responses = 0;
    for (let s = 0; s < this.options.sessionsPerWatcherMax && !this.watcherDone(next); s++) {
      const session: WatchSession = { startRevision: next, responses: [] };
      log.sessions.push(session);
      this.counts.sessions++;
      await this.session(
        ctx,
        node,
        session,
        (events) => {
          if (responses++ < RESPONSES_PER_WATCHER_MAX) session.responses.push(events);
          this.counts.events += events.length;
          const last = events.at(-1);
          if (last !== undefined) next = last.revision + 1;
        },
        () => this.watcherDone(next),
      );
      if (!this.watcherDone(next)) await sleep(200);
    }
  }

  /** One stream; resolves when it breaks, idles, or `isDone` says enough. */
  private session(
    ctx: WorkloadContext,
    node: string,
    session: WatchSession,
    onEvents: (events: WatchEvent[]) => void,
    isDone: () => boolean,
  ): Promise<void> {
    return new Promise((done) => {
      const stream = openBidiStream(ctx.endpoints.client(node), WATCH_SERVICE.Watch);
      let idle: NodeJS.Timeout | null = null;
      let finished = false;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        if (idle !== null) clearTimeout(idle);
        clearInterval(poll);
        stream.cancel();
        done();
      };
      const touch = (): void => {
        if (idle !== null) clearTimeout(idle);
        idle = setTimeout(finish, this.options.idleMs);
      };
      const poll = setInterval(() => {
        if (isDone()) finish();
      }, 250);
      touch();
      stream.on("data", (response: WatchResponseLike) => {
        touch();
        if (response.canceled === true) {
          finish();
          return;
        }
        const events: WatchEvent[] = (response.events ?? []).map((e) => {
          const key = text(e.kv?.key);
          const revision = Number(e.kv?.modRevision ?? 0);
          return e.type === EVENT_DELETE
            ? { key, revision, type: "delete" }
            : { key, revision, type: "put", value: Number(text(e.kv?.value)) };
        });
        if (events.length > 0) onEvents(events);
        if (isDone()) finish();
      });
      stream.on("error", finish);
      stream.on("end", finish);
      stream.write({
        createRequest: {
          key: bytes(PREFIX),
          rangeEnd: bytes(prefixEnd(PREFIX)),
          startRevision: session.startRevision,
        },
      });
    });
  }
}

interface WatchResponseLike {
  readonly canceled?: boolean | null;
  readonly events?: ReadonlyArray<{
    readonly type?: number | null;
    readonly kv?: {
      readonly key?: Uint8Array | null;
      readonly value?: Uint8Array | null;
      readonly modRevision?: number | null;
    } | null;
  }> | null;
}

function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}
