// Lease expiry bounds: present until TTL − ε, gone by TTL + election timeout + ε.

import { describe, expect, it } from "vitest";
import { checkLease, type LeaseTrack } from "../../jepsen-lite/checker/lease.js";
import { leaseTracksFromHistory } from "../../jepsen-lite/checker/lease-history.js";
import { pairHistory } from "../../jepsen-lite/history/pair.js";
import { historyOf } from "./checker-fixtures.js";

const options = { electionTimeoutMs: 1000, epsilonMs: 100 };

/** TTL 2 s granted at 1000 ms: must live until 2900, gone by 4100. */
function track(
  observations: LeaseTrack["observations"],
  extra: Partial<LeaseTrack> = {},
): LeaseTrack {
  return { lease: "L1", key: "k", ttlMs: 2000, grantedAt: 1000, observations, ...extra };
}

describe("checkLease", () => {
  it("accepts a key present before the TTL and gone after it", () => {
    const result = checkLease(
      [
        track([
          { time: 1100, completedAt: 1110, present: true },
          { time: 2800, completedAt: 2850, present: true },
          { time: 3300, completedAt: 3310, present: false },
          { time: 5000, present: false },
        ]),
      ],
      options,
    );
    expect(result.valid).toBe(true);
    expect(result.leases[0]).toMatchObject({
      verdict: "ok",
      mustLiveUntilMs: 2900,
      goneByMs: 4100,
    });
  });

  it("fails when the key vanished before TTL − ε", () => {
    const result = checkLease(
      [track([{ time: 2000, completedAt: 2010, present: false }])],
      options,
    );
    expect(result.valid).toBe(false);
    expect(result.leases[0]?.verdict).toBe("expired-early");
  });

  it("does not blame a read that only might have been early", () => {
    // Sent before the bound but answered after it: it may have run after the bound.
    const result = checkLease(
      [track([{ time: 2850, completedAt: 2950, present: false }])],
      options,
    );
    expect(result.valid).toBe(true);
  });

  it("fails when the key outlived TTL + election timeout + ε (e.g. a failover restarted the TTL)", () => {
    const result = checkLease(
      [
        track([
          { time: 4200, completedAt: 4210, present: true },
          { time: 6000, present: false },
        ]),
      ],
      options,
    );
    expect(result.valid).toBe(false);
    expect(result.leases[0]?.verdict).toBe("outlived");
  });

  it("counts the grace after expiry only over time a leader was there without a break", () => {
    // Expiry at 3000; leaderless from 2500, a leader for 500 ms from 4000 (too short to
    // count), then from 6000 on: gone by 7100.
    const leaderSamples = [
      { time: 2000, led: true },
      { time: 2500, led: false },
      { time: 4000, led: true },
      { time: 4500, led: false },
      { time: 6000, led: true },
      { time: 6600, led: true },
      { time: 7200, led: true },
    ];
    const late = track([
      { time: 6500, completedAt: 6510, present: true },
      { time: 7000, completedAt: 7010, present: false },
    ]);
    const ledLate = checkLease([late], { ...options, leaderSamples });
    expect(ledLate.leases[0]).toMatchObject({ verdict: "ok", goneByMs: 7100 });
    // The same reads with a leader there all along: outlived.
    const always = [2000, 3500, 4500].map((time) => ({ time, led: true }));
    expect(checkLease([late], { ...options, leaderSamples: always }).leases[0]).toMatchObject({
      verdict: "outlived",
      goneByMs: 4100,
    });
    // Present long after a leader came back: outlived.
    const tooLate = track([{ time: 7200, completedAt: 7210, present: true }]);
    expect(checkLease([tooLate], { ...options, leaderSamples }).valid).toBe(false);
    // No leader after expiry at all: no upper bound.
    const never = [
      { time: 2000, led: true },
      { time: 9000, led: false },
    ];
    expect(checkLease([late], { ...options, leaderSamples: never }).leases[0]?.goneByMs).toBe(
      Number.POSITIVE_INFINITY,
    );
  });

  it("lets a lease outlive its TTL by a leader change only where leaders refresh leases (etcd)", () => {
    // TTL 2 s from 1000; leader a, then b from 2600: etcd refreshes to 2600 + 2000 + 1000.
    const leaderSamples = [1000, 2000, 2500].map((time) => ({ time, led: true, leader: "a" }));
    for (const time of [2600, 4000, 6000, 7000])
      leaderSamples.push({ time, led: true, leader: "b" });
    const reads = track([{ time: 6000, completedAt: 6010, present: true }]);
    const etcd = checkLease([reads], { ...options, leaderSamples, refreshOnLeaderChange: true });
    expect(etcd.leases[0]).toMatchObject({ verdict: "unconfirmed", goneByMs: 6700 });
    const cairn = checkLease([reads], { ...options, leaderSamples });
    expect(cairn.leases[0]).toMatchObject({ verdict: "outlived", goneByMs: 4100 });
    // The same member leading again after a gap (killed, re-elected) is a new leader too.
    const again = leaderSamples.map((s) => ({ ...s, leader: "a" }));
    again.splice(3, 0, { time: 2550, led: false, leader: "a" });
    const reElected = checkLease([reads], {
      ...options,
      leaderSamples: again,
      refreshOnLeaderChange: true,
    });
    expect(reElected.leases[0]?.goneByMs).toBe(6700);
  });

  it("lets a new etcd leader refresh a lease its dead predecessor had not yet revoked", () => {
    // Expiry at 3000; the leader dies at 2900; b leads from 4000: it refreshes to 7000.
    const leaderSamples = [
      { time: 2000, led: true, leader: "a" },
      { time: 2900, led: false },
      ...[4000, 5000, 6000, 7000, 8000, 9000].map((time) => ({ time, led: true, leader: "b" })),
    ];
    const reads = track([
      { time: 7500, completedAt: 7510, present: true },
      { time: 8050, completedAt: 8060, present: false },
    ]);
    const etcd = checkLease([reads], { ...options, leaderSamples, refreshOnLeaderChange: true });
    expect(etcd.leases[0]).toMatchObject({ verdict: "ok", goneByMs: 8100 });
    const cairn = checkLease([reads], { ...options, leaderSamples });
    expect(cairn.leases[0]).toMatchObject({ verdict: "outlived", goneByMs: 5100 });
  });

  it("counts the lower bound from when the grant was sent: the TTL may start then", () => {
    const slowGrant = track([{ time: 2740, completedAt: 2750, present: false }], {
      grantSentAt: 800,
    });
    expect(checkLease([slowGrant], options).leases[0]).toMatchObject({
      verdict: "ok",
      mustLiveUntilMs: 2700,
    });
    const fastGrant = track([{ time: 2740, completedAt: 2750, present: false }]);
    expect(checkLease([fastGrant], options).leases[0]?.verdict).toBe("expired-early");
  });

  it("allows presence up to the election-timeout grace", () => {
    const result = checkLease(
      [
        track([
          { time: 4000, completedAt: 4300, present: true },
          { time: 4400, present: false },
        ]),
      ],
      options,
    );
    expect(result.valid).toBe(true);
  });

  it("fails when a key comes back after it was gone", () => {
    const result = checkLease(
      [
        track([
          { time: 3500, completedAt: 3510, present: false },
          { time: 3600, completedAt: 3610, present: true },
        ]),
      ],
      options,
    );
    expect(result.valid).toBe(false);
    expect(result.leases[0]?.verdict).toBe("reappeared");
  });

  it("measures the TTL from the last keep-alive response", () => {
    const result = checkLease(
      [track([{ time: 3500, completedAt: 3510, present: false }], { lastKeepAliveAt: 2000 })],
      options,
    );
    expect(result.valid).toBe(false);
    expect(result.leases[0]).toMatchObject({ verdict: "expired-early", mustLiveUntilMs: 3900 });
  });

  it("is unknown when expiry was never observed, unless told otherwise", () => {
    const tracks = [track([{ time: 1500, present: true }])];
    expect(checkLease(tracks, options).valid).toBe("unknown");
    expect(checkLease(tracks, options).leases[0]?.verdict).toBe("unconfirmed");
    expect(checkLease(tracks, { ...options, requireExpiryObserved: false }).valid).toBe(true);
  });

  it("one failing lease fails the whole check", () => {
    const good = track([{ time: 5000, present: false }], { lease: "L2" });
    const bad = track([{ time: 1500, completedAt: 1510, present: false }]);
    expect(checkLease([good, bad], options).valid).toBe(false);
  });
});

describe("leaseTracksFromHistory", () => {
  it("builds a track per key from grant, put and reads after the put", () => {
    const history = historyOf([
      { p: 1, f: "lease:grant", key: "k1", out: { lease: 77, ttl: 2 }, call: 0, ret: 1000 },
      { p: 1, f: "lease:read", key: "k1", out: { present: false }, call: 1001, ret: 1002 },
      { p: 1, f: "lease:put", key: "k1", in: "v", call: 1003, ret: 1010 },
      { p: 1, f: "lease:read", key: "k1", out: { present: true }, call: 1100, ret: 1110 },
      { p: 1, f: "lease:read", key: "k1", call: 2000, ret: 2500, type: "info" },
      { p: 2, f: "lease:read", key: "k1", out: { present: false }, call: 3500, ret: 3510 },
      // A round whose put never succeeded is not tracked.
      { p: 3, f: "lease:grant", key: "k2", out: { lease: 78, ttl: 2 }, call: 0, ret: 10 },
      { p: 3, f: "lease:put", key: "k2", in: "v", call: 20, ret: 30, type: "info" },
    ]);
    const tracks = leaseTracksFromHistory(pairHistory(history));
    expect(tracks).toEqual([
      {
        lease: "77",
        key: "k1",
        ttlMs: 2000,
        grantedAt: 1000,
        grantSentAt: 0,
        observations: [
          { time: 1100, completedAt: 1110, present: true },
          { time: 3500, completedAt: 3510, present: false },
        ],
      },
    ]);
    expect(checkLease(tracks, options).valid).toBe(true);
  });
});
