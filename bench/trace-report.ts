// `node dist/bench/trace-report.js <prefix>`: turns the stage timestamps that
// CAIRN_TRACE_FILE=<prefix> makes the bench (client) and every member write
// (src/util/latency-trace.ts) into the account of one put's time by stage
// (bench/PROFILE.md). Meant for single-client put runs, where the puts do not
// overlap: each op-start of the client is followed through leader and followers.
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

interface TraceEvent {
  readonly t: number;
  readonly name: string;
  readonly a: number;
  readonly b: number;
}

/** How far after its anchor an event may be looked for: a put never takes longer. */
const SEARCH_WINDOW_MS = 200;
/** The first puts warm up JIT and connections: left out of the account. */
const WARMUP_FRACTION = 0.2;

class Timeline {
  constructor(readonly events: readonly TraceEvent[]) {}

  static read(path: string): Timeline {
    const events: TraceEvent[] = [];
    for (const line of readFileSync(path, "utf8").split("\n")) {
      const [t, name, a, b] = line.split(" ");
      if (t === undefined || name === undefined) continue;
      events.push({ t: Number(t), name, a: Number(a), b: Number(b) });
    }
    return new Timeline(events);
  }

  /** Index of the first event at or after `t`. */
  private indexAt(t: number): number {
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.events[mid] as TraceEvent).t < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  count(name: string): number {
    return this.events.filter((e) => e.name === name).length;
  }

  /** The last event at or before `t` (within the window) that matches. */
  last(t: number, match: (e: TraceEvent) => boolean): TraceEvent | null {
    for (let i = this.indexAt(t + 1e-6) - 1; i >= 0; i--) {
      const e = this.events[i] as TraceEvent;
      if (e.t < t - SEARCH_WINDOW_MS) return null;
      if (match(e)) return e;
    }
    return null;
  }

  /** The first event at or after `t` (within the window) that matches. */
  first(t: number, match: (e: TraceEvent) => boolean): TraceEvent | null {
    for (let i = this.indexAt(t); i < this.events.length; i++) {
      const e = this.events[i] as TraceEvent;
      if (e.t > t + SEARCH_WINDOW_MS) return null;
      if (match(e)) return e;
    }
    return null;
  }
}

type Stamps = Record<string, number>;
/** f-recv, f-frame-in, f-persist-start, f-persist-end, f-send-ack, f-frame-out, l-recv-ack, l-frame-in. */
const FOLLOWER_STAMPS = 8;

const named = (name: string) => (e: TraceEvent) => e.name === name;

function followPut(client: Timeline, leader: Timeline, followers: Timeline[], start: TraceEvent) {
  const s: Stamps = { c0: start.t };
  const at = (tl: Timeline, key: string, from: number, match: (e: TraceEvent) => boolean) => {
    const e = tl.first(from, match);
    if (e === null) throw new Error(`no ${key} after ${from}`);
    s[key] = e.t;
    return e;
  };
  const end = at(client, "c9", start.t, named("op-end"));
  const unary = at(leader, "unary-in", start.t, named("unary-in"));
  if (unary.t > end.t) throw new Error("no server call inside this op");
  at(leader, "propose", unary.t, named("propose"));
  const ready = at(leader, "ready1", s.propose as number, (e) => e.name === "ready" && e.a > 0);
  const index = ready.a;
  at(leader, "frame-out", ready.t, named("frame-out"));
  at(leader, "persist-start", ready.t, named("persist-start"));
  at(leader, "persist-end", ready.t, named("persist-end"));
  // The quorum needs one follower's ack: follow the one whose ack arrived first.
  let best: Stamps | null = null;
  for (const f of followers) {
    const fs: Stamps = {};
    const fat = (key: string, tl: Timeline, from: number, match: (e: TraceEvent) => boolean) => {
      const e = tl.first(from, match);
      if (e === null) return null;
      fs[key] = e.t;
      return e;
    };
    const recv = fat(
      "f-recv",
      f,
      s["frame-out"] as number,
      (e) => e.name === "recv-MsgApp" && e.b >= index,
    );
    if (recv === null) continue;
    fat("f-frame-in", f, s["frame-out"] as number, named("frame-in"));
    fat("f-persist-start", f, recv.t, (e) => e.name === "persist-start" && e.a > 0);
    fat("f-persist-end", f, recv.t, (e) => e.name === "persist-end" && e.a > 0);
    const ack = fat("f-send-ack", f, recv.t, (e) => e.name === "send-MsgAppResp" && e.b >= index);
    if (ack === null) continue;
    const out = fat("f-frame-out", f, ack.t, named("frame-out"));
    if (out === null) continue;
    const got = fat(
      "l-recv-ack",
      leader,
      ack.t,
      (e) => e.name === "recv-MsgAppResp" && e.b >= index,
    );
    if (got === null) continue;
    // Clocks of two processes may differ slightly: look back from the ack, not forward from the frame.
    const frameIn = leader.last(got.t, named("frame-in"));
    if (frameIn === null) continue;
    fs["l-frame-in"] = frameIn.t;
    if (
      Object.keys(fs).length === FOLLOWER_STAMPS &&
      (best === null || (fs["l-recv-ack"] as number) < (best["l-recv-ack"] as number))
    ) {
      best = fs;
    }
  }
  if (best === null) throw new Error(`no follower ack for ${index}`);
  Object.assign(s, best);
  const gate = Math.max(s["l-recv-ack"] as number, s["persist-end"] as number);
  s.gate = gate;
  const ready2 = at(leader, "ready2", gate, (e) => e.name === "ready" && e.b >= index);
  const resolve = at(leader, "resolve", ready2.t, named("resolve"));
  at(leader, "replied", ready2.t, named("replied"));
  // Only when the rows were written before the answer (before commit abdb966 they were).
  const written = leader.first(ready2.t, named("apply-write-end"));
  if (written !== null && written.t < resolve.t) {
    s["apply-write-start"] = leader.first(ready2.t, named("apply-write-start"))?.t ?? Number.NaN;
    s["apply-write-end"] = written.t;
  }
  return s;
}

const STAGES: ReadonlyArray<readonly [string, string, string]> = [
  ["client → server handler (client encode, HTTP/2, server decode)", "c0", "unary-in"],
  ["handler → proposal queued (validate, encode command)", "unary-in", "propose"],
  ["proposal → Ready with the entry (setImmediate, step, ready)", "propose", "ready1"],
  ["Ready → MsgApp frame written to peer stream", "ready1", "frame-out"],
  ["leader's own persist (synced batch)", "persist-start", "persist-end"],
  ["MsgApp frame → follower receives frame", "frame-out", "f-frame-in"],
  ["follower: frame → message stepped into inbox", "f-frame-in", "f-recv"],
  ["follower: inbox → persist starts", "f-recv", "f-persist-start"],
  ["follower: persist (synced batch)", "f-persist-start", "f-persist-end"],
  ["follower: persist done → ack frame written", "f-persist-end", "f-frame-out"],
  ["ack frame → leader receives frame", "f-frame-out", "l-frame-in"],
  ["leader: frame → ack in inbox", "l-frame-in", "l-recv-ack"],
  ["= follower round trip (MsgApp out → ack in)", "frame-out", "l-recv-ack"],
  ["commit point (later of ack, own persist) → Ready with it", "gate", "ready2"],
  ["Ready → state write starts (hard state, decode, apply)", "ready2", "apply-write-start"],
  ["state write (unsynced batch), if before the answer", "apply-write-start", "apply-write-end"],
  ["Ready → waiter resolved", "ready2", "resolve"],
  ["waiter resolved → reply handed to gRPC", "resolve", "replied"],
  ["commit point → reply handed to gRPC", "gate", "replied"],
  ["reply → client has it (server encode, HTTP/2, client decode)", "replied", "c9"],
  ["TOTAL as the client sees it", "c0", "c9"],
  ["of which in the server (handler → reply handed to gRPC)", "unary-in", "replied"],
];

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function main(prefix: string): void {
  const dir = dirname(prefix);
  const base = `${basename(prefix)}.`;
  const timelines = readdirSync(dir)
    .filter((f) => f.startsWith(base))
    .map((f) => Timeline.read(join(dir, f)));
  const client = timelines.find((t) => t.count("op-start") > 0);
  const servers = timelines.filter((t) => t !== client);
  const leader = servers.sort((x, y) => y.count("put-in") - x.count("put-in"))[0];
  if (client === undefined || leader === undefined) throw new Error(`no traces at ${prefix}.*`);
  const followers = servers.filter((t) => t !== leader);
  const starts = client.events.filter((e) => e.name === "op-start");
  const rows: Stamps[] = [];
  let skipped = 0;
  for (const start of starts.slice(Math.floor(starts.length * WARMUP_FRACTION))) {
    try {
      rows.push(followPut(client, leader, followers, start));
    } catch {
      skipped++;
    }
  }
  const ackGated = rows.filter((r) => (r["l-recv-ack"] as number) > (r["persist-end"] as number));
  process.stdout.write(
    `${rows.length} puts followed (${skipped} not); commit waited for the follower ack ` +
      `(not the leader's own persist) in ${ackGated.length}\n\n` +
      "| stage | p50 ms | mean ms |\n|---|---|---|\n",
  );
  for (const [label, from, to] of STAGES) {
    const d = rows
      .filter((r) => r[from] !== undefined && r[to] !== undefined)
      .map((r) => (r[to] as number) - (r[from] as number))
      .sort((x, y) => x - y);
    if (d.length === 0) {
      process.stdout.write(`| ${label} | — | — |\n`);
      continue;
    }
    const mean = d.reduce((x, y) => x + y, 0) / d.length;
    process.stdout.write(`| ${label} | ${quantile(d, 0.5).toFixed(3)} | ${mean.toFixed(3)} |\n`);
  }
}

main(process.argv[2] ?? "");
