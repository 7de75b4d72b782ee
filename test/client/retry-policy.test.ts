// Which failures the client retries, for which kind of call, and how long it
// waits: the pure rules of src/client/retry-policy.ts.
import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import {
  backoffMs,
  type CallSafety,
  classifyFailure,
  type FailureKind,
  isRetryable,
} from "../../src/client/retry-policy.js";
import { grpcError } from "./fake-transport.js";

describe("classifyFailure", () => {
  const cases: [status, string, FailureKind][] = [
    [
      status.UNAVAILABLE,
      "No connection established. Last error: connect ECONNREFUSED 127.0.0.1:2379",
      "not-sent",
    ],
    [status.UNAVAILABLE, "Stream refused by server", "not-sent"],
    [
      status.DEADLINE_EXCEEDED,
      "Deadline exceeded after 2.001s,name resolution: 0.001s,Waiting for LB pick",
      "not-sent",
    ],
    [status.UNAVAILABLE, "etcdserver: no leader", "not-applied"],
    [status.RESOURCE_EXHAUSTED, "etcdserver: too many requests", "not-applied"],
    [
      status.RESOURCE_EXHAUSTED,
      "etcdserver: no space left on device (data dir /var/lib/cairn/n1)",
      "not-applied",
    ],
    [
      status.UNAVAILABLE,
      "etcdserver: no space left on device (data dir /d); this member serves only serializable reads until it can write",
      "not-applied",
    ],
    [status.RESOURCE_EXHAUSTED, "etcdserver: mvcc: database space exceeded", "final"],
    [status.UNAVAILABLE, "Connection dropped", "ambiguous"],
    [status.UNAVAILABLE, "read ECONNRESET", "ambiguous"],
    [status.UNAVAILABLE, "etcdserver: request timed out", "ambiguous"],
    [status.UNAVAILABLE, "etcdserver: leader changed", "ambiguous"],
    [status.UNAVAILABLE, "etcdserver: server stopped", "ambiguous"],
    [
      status.DEADLINE_EXCEEDED,
      "Deadline exceeded after 5.002s,LB pick: 0.001s,remote_addr=127.0.0.1:2379",
      "ambiguous",
    ],
    [status.INVALID_ARGUMENT, "resource.spec.cpu must be 1..512, got 0", "final"],
    [status.NOT_FOUND, "resource srv-9 not found", "final"],
    [status.ABORTED, "version 3 expected, resource is at 4", "final"],
    [status.UNAUTHENTICATED, "the bearer token is invalid", "final"],
    [status.RESOURCE_EXHAUSTED, "etcdserver: mvcc: database space exceeded", "final"],
    [status.CANCELLED, "Call cancelled", "ambiguous"],
    [
      status.INTERNAL,
      "Received RST_STREAM with code 2 triggered by internal client error: Session closed with error code 2",
      "ambiguous",
    ],
    [
      status.INTERNAL,
      "Received RST_STREAM with code 0 (Call ended without gRPC status)",
      "ambiguous",
    ],
    [status.INTERNAL, "apply failed: invariant broken", "final"],
  ];
  it.each(cases)("status %i %j is %s", (code, details, kind) => {
    expect(classifyFailure(grpcError(code, details))).toBe(kind);
  });

  it("treats errors without a gRPC status as final", () => {
    expect(classifyFailure(new Error("boom"))).toBe("final");
    expect(classifyFailure("nope")).toBe("final");
  });
});

describe("isRetryable", () => {
  const expected: Record<CallSafety, Record<FailureKind, boolean>> = {
    read: { "not-sent": true, "not-applied": true, ambiguous: true, final: false },
    idempotent: { "not-sent": true, "not-applied": true, ambiguous: true, final: false },
    write: { "not-sent": true, "not-applied": true, ambiguous: false, final: false },
  };
  for (const [safety, row] of Object.entries(expected)) {
    for (const [kind, retry] of Object.entries(row)) {
      it(`${safety} after ${kind}: ${retry ? "retry" : "give up"}`, () => {
        expect(isRetryable(safety as CallSafety, kind as FailureKind)).toBe(retry);
      });
    }
  }
});

describe("backoffMs", () => {
  const options = { baseMs: 25, maxMs: 1_000 };
  it("waits only the base over the first pass of endpoints, then doubles per cycle up to the cap", () => {
    const top = (attempt: number) => backoffMs(attempt, 3, options, () => 1);
    expect([1, 2, 3].map(top)).toEqual([25, 25, 25]);
    expect([4, 7, 10, 13].map(top)).toEqual([50, 100, 200, 400]);
    expect(top(100)).toBe(1_000);
    expect(top(1_000_000)).toBe(1_000);
  });

  it("jitters into [half, full] of the ceiling", () => {
    expect(backoffMs(4, 3, options, () => 0)).toBe(25);
    expect(backoffMs(4, 3, options, () => 0.5)).toBe(37.5);
    for (let attempt = 1; attempt < 60; attempt++) {
      const wait = backoffMs(attempt, 2, options, Math.random);
      expect(wait).toBeGreaterThanOrEqual(12.5);
      expect(wait).toBeLessThanOrEqual(1_000);
    }
  });

  it("refuses attempt numbers below 1", () => {
    expect(() => backoffMs(0, 3, options, Math.random)).toThrow(RangeError);
  });
});
