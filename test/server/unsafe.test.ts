// The test-only unsafe switches: --unsafe parsing and its refusal without
// --unsafe-test-mode, the /metrics gauge, and the switches that act outside
// the Raft loop (watch-skip on a stream, early-lock-grant on v3lock Lock).
// no-fsync is in unsafe-no-fsync.test.ts; the read and quorum switches in
// test/e2e/unsafe-switches.test.ts.
import { describe, expect, it } from "vitest";
import { ConfigError, parseServeArgs } from "../../src/server/config.js";
import { LockHandlers } from "../../src/server/lock/lock-service.js";
import { NodeMetrics } from "../../src/server/metrics.js";
import {
  EventSkipper,
  skipsReadBarrier,
  UNSAFE_SWITCHES,
  type UnsafeSwitch,
  WATCH_SKIP_EVERY_EVENTS,
} from "../../src/server/unsafe.js";
import { WATCH_STREAM_DEFAULTS, WatchStream } from "../../src/server/watch/watch-stream.js";
import { bytes, FakeMember, queueDeps, settle } from "./lock/fake-member.js";
import {
  createRequest,
  FakeNode,
  FakeSink,
  HEADERS,
  ManualScheduler,
  put,
  seenEvents,
} from "./watch/helpers.js";

const base = ["--name", "n1"];

describe("--unsafe", () => {
  it("parses a comma-separated list into a set, also from CAIRN_UNSAFE", () => {
    const config = parseServeArgs(
      [...base, "--unsafe-test-mode", "--unsafe", "stale-reads, watch-skip,stale-reads"],
      {},
    );
    expect([...config.unsafe].sort()).toEqual(["stale-reads", "watch-skip"]);
    const fromEnv = parseServeArgs(base, {
      CAIRN_UNSAFE_TEST_MODE: "true",
      CAIRN_UNSAFE: "no-fsync",
    });
    expect([...fromEnv.unsafe]).toEqual(["no-fsync"]);
    expect(parseServeArgs(base, {}).unsafe.size).toBe(0);
    expect(parseServeArgs([...base, "--unsafe", ""], {}).unsafe.size).toBe(0);
    const all = parseServeArgs(
      [...base, "--unsafe-test-mode", "--unsafe", UNSAFE_SWITCHES.join(",")],
      {},
    );
    expect(all.unsafe.size).toBe(UNSAFE_SWITCHES.length);
  });

  it("is refused without --unsafe-test-mode, naming both flags", () => {
    const attempt = () => parseServeArgs([...base, "--unsafe", "no-read-index"], {});
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/--unsafe \(no-read-index\).*refused without --unsafe-test-mode/);
    expect(() => parseServeArgs(base, { CAIRN_UNSAFE: "watch-skip" })).toThrow(
      /--unsafe-test-mode/,
    );
  });

  it("refuses an unknown switch, listing the valid ones", () => {
    const attempt = () =>
      parseServeArgs([...base, "--unsafe-test-mode", "--unsafe", "stale-reads,fast-mode"], {});
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(
      /unknown switch "fast-mode"; valid switches are stale-reads, no-read-index, no-fsync, no-quorum-check, early-lock-grant, watch-skip/,
    );
  });

  it("reports each switch in /metrics: 1 when planted, 0 otherwise", async () => {
    const metrics = new NodeMetrics();
    metrics.setUnsafeSwitches(new Set<UnsafeSwitch>(["no-fsync", "watch-skip"]));
    const text = await metrics.registry.metrics();
    expect(text).toContain('cairn_unsafe_switch{switch="no-fsync"} 1');
    expect(text).toContain('cairn_unsafe_switch{switch="watch-skip"} 1');
    expect(text).toContain('cairn_unsafe_switch{switch="stale-reads"} 0');
  });

  it("skips the read barrier on followers for stale-reads and on the leader for no-read-index", () => {
    const stale = new Set<UnsafeSwitch>(["stale-reads"]);
    const noReadIndex = new Set<UnsafeSwitch>(["no-read-index"]);
    expect(skipsReadBarrier(stale, "follower")).toBe(true);
    expect(skipsReadBarrier(stale, "pre-candidate")).toBe(true);
    expect(skipsReadBarrier(stale, "leader")).toBe(false);
    expect(skipsReadBarrier(noReadIndex, "leader")).toBe(true);
    expect(skipsReadBarrier(noReadIndex, "follower")).toBe(false);
    expect(skipsReadBarrier(new Set(), "leader")).toBe(false);
  });
});

describe("watch-skip", () => {
  it("EventSkipper drops exactly every Nth event across batches", () => {
    const skipper = new EventSkipper(3);
    const kept = [
      skipper.filter([1, 2]),
      skipper.filter([3, 4, 5, 6, 7]),
      skipper.filter([]),
      skipper.filter([8, 9]),
    ];
    expect(kept).toEqual([[1, 2], [4, 5, 7], [], [8]]);
  });

  const watchAll = (node: FakeNode, skipEveryEvents?: number) => {
    const sink = new FakeSink();
    const scheduler = new ManualScheduler();
    const stream = new WatchStream({
      hub: node.hub,
      headers: HEADERS,
      sink,
      limits: WATCH_STREAM_DEFAULTS,
      schedule: scheduler.schedule,
      ...(skipEveryEvents === undefined ? {} : { skipEveryEvents }),
    });
    stream.handle(createRequest("k", { rangeEnd: "l" }));
    scheduler.runAll();
    return { sink, scheduler };
  };

  it(`a stream loses its ${WATCH_SKIP_EVERY_EVENTS}th event; an unplanted stream loses none`, () => {
    const node = new FakeNode();
    const planted = watchAll(node, WATCH_SKIP_EVERY_EVENTS);
    const safe = watchAll(node);
    const writes = WATCH_SKIP_EVERY_EVENTS + 50;
    for (let i = 1; i <= writes; i++) {
      node.commit(put(`k${i}`, "v"));
      planted.scheduler.runAll();
      safe.scheduler.runAll();
    }
    const plantedSeen = seenEvents(planted.sink.received, 0).map((e) => e.key);
    const safeSeen = seenEvents(safe.sink.received, 0).map((e) => e.key);
    expect(safeSeen).toHaveLength(writes);
    expect(plantedSeen).toHaveLength(writes - 1);
    expect(plantedSeen).not.toContain(`k${WATCH_SKIP_EVERY_EVENTS}`);
  });
});

describe("early-lock-grant", () => {
  const twoLockers = async (earlyGrant: boolean) => {
    const member = new FakeMember();
    const locks = new LockHandlers(queueDeps(member), { earlyGrant });
    for (const leaseId of [0xa, 0xb]) {
      await member.propose({ kind: "lease-grant", leaseId, ttlSeconds: 30 });
    }
    const held: number[] = [];
    for (const lease of [0xa, 0xb]) {
      locks
        .lock({ name: bytes("job"), lease } as never, new AbortController().signal)
        .then(() => held.push(lease));
    }
    await settle();
    await settle();
    return held;
  };

  it("answers a second Lock caller while the first holds; without it the second waits", async () => {
    expect(await twoLockers(true)).toEqual([0xa, 0xb]);
    expect(await twoLockers(false)).toEqual([0xa]);
  });
});
