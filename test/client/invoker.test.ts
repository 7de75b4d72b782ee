// The retry loop end to end over a fake transport: reads fail over, writes
// are retried only when they never reached a server, every loop is bounded
// by attempts and by the call's deadline, AbortSignal stops it, and the
// session token rides along as a bearer token.
import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { Cairn } from "../../src/client/client.js";
import { CairnAbortError, CairnRpcError } from "../../src/client/errors.js";
import { FakeTransport, grpcError, type UnaryHandler } from "./fake-transport.js";

const RANGE = "/etcdserverpb.KV/Range";
const PUT = "/etcdserverpb.KV/Put";
const GRANT = "/etcdserverpb.Lease/LeaseGrant";
const ENDPOINTS = ["a:1", "b:2", "c:3"];
const fastBackoff = { baseMs: 1, maxMs: 4 };

function client(handler: UnaryHandler, options: { attemptsMax?: number; timeoutMs?: number } = {}) {
  const transport = new FakeTransport(ENDPOINTS, handler);
  const cairn = new Cairn({
    endpoints: ENDPOINTS,
    transport,
    backoff: fastBackoff,
    attemptsMax: options.attemptsMax ?? 9,
    timeoutMs: options.timeoutMs ?? 1_000,
  });
  return { cairn, transport };
}

const rangeAnswer = { kvs: [], header: { revision: 7 } };
const putAnswer = { header: { revision: 8 } };

describe("failover and retries", () => {
  it("retries a read on the next endpoint when a member is unavailable, then sticks to it", async () => {
    const { cairn, transport } = client(({ endpoint }) => {
      if (endpoint === 0) throw grpcError(status.UNAVAILABLE, "Connection dropped");
      return rangeAnswer;
    });
    expect(await cairn.get("k")).toBeNull();
    expect(await cairn.get("k")).toBeNull();
    expect(transport.callsTo(RANGE).map((c) => c.endpoint)).toEqual([0, 1, 1]);
  });

  it("retries a write that never left the client (no connection) on another member", async () => {
    const { cairn, transport } = client(({ endpoint }) => {
      if (endpoint === 0) {
        throw grpcError(status.UNAVAILABLE, "No connection established. Last error: ECONNREFUSED");
      }
      return putAnswer;
    });
    expect(await cairn.put("k", "v")).toEqual({ revision: 8 });
    expect(transport.callsTo(PUT).map((c) => c.endpoint)).toEqual([0, 1]);
  });

  it("retries a write the server refused before proposing (no leader)", async () => {
    let calls = 0;
    const { cairn } = client(() => {
      calls++;
      if (calls < 3) throw grpcError(status.UNAVAILABLE, "etcdserver: no leader");
      return putAnswer;
    });
    expect(await cairn.put("k", "v")).toEqual({ revision: 8 });
    expect(calls).toBe(3);
  });

  it("never retries a write whose answer was lost, and says the outcome is unknown", async () => {
    const { cairn, transport } = client(() => {
      throw grpcError(status.UNAVAILABLE, "Connection dropped");
    });
    const error = await cairn.put("k", "v").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CairnRpcError);
    expect(error).toMatchObject({ code: status.UNAVAILABLE, outcomeUnknown: true, attempts: 1 });
    expect(transport.callsTo(PUT)).toHaveLength(1);
  });

  it("never retries a write after a request timeout or leader change", async () => {
    for (const details of ["etcdserver: request timed out", "etcdserver: leader changed"]) {
      const { cairn, transport } = client(() => {
        throw grpcError(status.UNAVAILABLE, details);
      });
      await expect(cairn.put("k", "v")).rejects.toMatchObject({ details, outcomeUnknown: true });
      expect(transport.callsTo(PUT)).toHaveLength(1);
    }
  });

  it("does not retry the server's considered answer", async () => {
    const { cairn, transport } = client(() => {
      throw grpcError(status.INVALID_ARGUMENT, "etcdserver: key is not provided");
    });
    await expect(cairn.get("")).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: "etcdserver: key is not provided",
      outcomeUnknown: false,
    });
    expect(transport.callsTo(RANGE)).toHaveLength(1);
  });

  it("bounds a read that keeps failing by attemptsMax", async () => {
    const { cairn, transport } = client(
      () => {
        throw grpcError(status.UNAVAILABLE, "Connection dropped");
      },
      { attemptsMax: 5 },
    );
    await expect(cairn.get("k")).rejects.toMatchObject({ code: status.UNAVAILABLE, attempts: 5 });
    expect(transport.callsTo(RANGE).map((c) => c.endpoint)).toEqual([0, 1, 2, 0, 1]);
  });

  it("bounds the whole call by its deadline, even with attempts to spare", async () => {
    const { cairn, transport } = client(
      async (_call, options) => {
        await new Promise((resolve) => setTimeout(resolve, options.deadlineAtMs - Date.now()));
        throw grpcError(status.DEADLINE_EXCEEDED, "Deadline exceeded after 0.1s,LB pick: 0s");
      },
      { attemptsMax: 1_000, timeoutMs: 40 },
    );
    const started = Date.now();
    const error = await cairn.get("k", { timeoutMs: 150 }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(error).toMatchObject({ code: status.DEADLINE_EXCEEDED });
    expect((error as Error).message).toMatch(/within 150 ms/);
    expect(transport.callsTo(RANGE).length).toBeGreaterThanOrEqual(3);
    expect(transport.callsTo(RANGE).length).toBeLessThan(10);
  });

  it("gives each attempt at most its share of the deadline", async () => {
    const seen: number[] = [];
    const { cairn } = client(
      (_call, options) => {
        seen.push(options.deadlineAtMs - Date.now());
        return rangeAnswer;
      },
      { timeoutMs: 200 },
    );
    await cairn.get("k", { timeoutMs: 10_000 });
    expect(seen[0]).toBeLessThanOrEqual(200);
  });

  it("stops at once when the caller aborts, during an attempt or a backoff", async () => {
    const controller = new AbortController();
    const { cairn, transport } = client(() => {
      controller.abort(new Error("user pressed Ctrl-C"));
      throw grpcError(status.CANCELLED, "Call cancelled");
    });
    await expect(cairn.get("k", { signal: controller.signal })).rejects.toBeInstanceOf(
      CairnAbortError,
    );
    expect(transport.callsTo(RANGE)).toHaveLength(1);
    await expect(cairn.get("k", { signal: controller.signal })).rejects.toBeInstanceOf(
      CairnAbortError,
    );
    expect(transport.callsTo(RANGE)).toHaveLength(1);
  });

  it("treats a retried grant of our own lease id that finds it existing as granted", async () => {
    let calls = 0;
    const { cairn } = client(() => {
      calls++;
      if (calls === 1) throw grpcError(status.UNAVAILABLE, "Connection dropped");
      throw grpcError(status.FAILED_PRECONDITION, "etcdserver: lease already exists");
    });
    expect(await cairn.lease.grant(10, { id: 42 })).toEqual({ id: 42, ttlSeconds: 10 });
    expect(calls).toBe(2);
  });

  it("does not take 'lease already exists' as success on a first attempt", async () => {
    const { cairn, transport } = client(() => {
      throw grpcError(status.FAILED_PRECONDITION, "etcdserver: lease already exists");
    });
    await expect(cairn.lease.grant(10, { id: 42 })).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
    });
    expect(transport.callsTo(GRANT)).toHaveLength(1);
  });

  it("does not retry a server-chosen lease grant after a lost answer (it could leak a lease)", async () => {
    const { cairn, transport } = client(() => {
      throw grpcError(status.UNAVAILABLE, "Connection dropped");
    });
    await expect(cairn.lease.grant(10)).rejects.toMatchObject({ outcomeUnknown: true });
    expect(transport.callsTo(GRANT)).toHaveLength(1);
  });
});

describe("session token", () => {
  it("sends no authorization before login, the bearer token after, none after logout", async () => {
    const { cairn, transport } = client(({ path }) => {
      if (path === "/cairn.v1.Users/Login") {
        return { token: "tok-123", expiresAtMs: 1, user: { username: "alice", roles: [1] } };
      }
      if (path === "/cairn.v1.Users/Logout") return {};
      return rangeAnswer;
    });
    const seen: (string | null)[] = [];
    cairn.onTokenChange((token) => seen.push(token));
    await cairn.get("k");
    const login = await cairn.users.login("alice", "correct horse battery");
    expect(login.user).toMatchObject({ username: "alice", roles: ["admin"] });
    await cairn.get("k");
    await cairn.users.logout();
    await cairn.get("k");
    const auth = transport.callsTo(RANGE).map((c) => c.metadata.authorization ?? null);
    expect(auth).toEqual([null, "Bearer tok-123", null]);
    expect(transport.callsTo(RANGE).every((c) => c.metadata.hasleader === "true")).toBe(true);
    expect(seen).toEqual(["tok-123", null]);
  });

  it("by default keeps retrying a read through an election's worth of fast 'no leader' answers", async () => {
    // Regression: the default bound was max(10, 3 × endpoints) attempts, which a
    // loaded cluster's election outlasted; the call deadline must govern instead.
    let calls = 0;
    const transport = new FakeTransport(ENDPOINTS, () => {
      calls++;
      if (calls <= 15) throw grpcError(status.UNAVAILABLE, "etcdserver: no leader");
      return rangeAnswer;
    });
    const cairn = new Cairn({
      endpoints: ENDPOINTS,
      transport,
      backoff: fastBackoff,
      timeoutMs: 1_000,
    });
    await cairn.get("k");
    expect(calls).toBe(16);
  });

  it("uses a token given at construction", async () => {
    const transport = new FakeTransport(ENDPOINTS, () => rangeAnswer);
    const cairn = new Cairn({ endpoints: ENDPOINTS, transport, token: "saved" });
    await cairn.get("k");
    expect(transport.calls[0]?.metadata.authorization).toBe("Bearer saved");
  });
});

describe("hasleader", () => {
  it("asks members to fail fast without a leader, except for status and serializable reads", async () => {
    const { cairn, transport } = client(({ path }) =>
      path === "/cairn.v1.Node/Status" ? { name: "n1" } : rangeAnswer,
    );
    await cairn.get("k");
    await cairn.get("k", { serializable: true });
    await cairn.status(0);
    expect(transport.calls.map((c) => c.metadata.hasleader ?? null)).toEqual(["true", null, null]);
  });
});

describe("status", () => {
  it("asks exactly the endpoint named, once", async () => {
    const { cairn, transport } = client(() => {
      throw grpcError(status.UNAVAILABLE, "No connection established");
    });
    await expect(cairn.status(2)).rejects.toMatchObject({ code: status.UNAVAILABLE });
    expect(transport.calls.map((c) => c.endpoint)).toEqual([2]);
    await expect(cairn.status(3)).rejects.toBeInstanceOf(RangeError);
  });
});
