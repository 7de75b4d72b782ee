// lock(name, fn) over a fake transport: the lease it grants is ours and kept
// alive, fn gets the fence, and release + revoke run whether fn returns or
// throws; a lost lease aborts fn's signal and fails the call.
import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { Cairn } from "../../src/client/client.js";
import { LeaseLostError } from "../../src/client/errors.js";
import { FakeTransport, grpcError, type RecordedCall } from "./fake-transport.js";

const GRANT = "/etcdserverpb.Lease/LeaseGrant";
const REVOKE = "/etcdserverpb.Lease/LeaseRevoke";
const KEEP_ALIVE = "/etcdserverpb.Lease/LeaseKeepAlive";
const ACQUIRE = "/cairn.v1.Locks/Acquire";
const RELEASE = "/cairn.v1.Locks/Release";

function lockServer(options: { acquireFails?: boolean } = {}) {
  const transport = new FakeTransport(["a:1", "b:2"], (call: RecordedCall) => {
    const request = call.request as Record<string, unknown>;
    switch (call.path) {
      case GRANT:
        return { ID: request.ID, TTL: request.TTL };
      case ACQUIRE:
        if (options.acquireFails === true) {
          throw grpcError(status.DEADLINE_EXCEEDED, "waited 50 ms in line for lock deploy");
        }
        return { acquired: true, token: 41, leaseId: request.leaseId };
      case RELEASE:
      case REVOKE:
        return {};
      default:
        throw new Error(`unexpected ${call.path}`);
    }
  });
  const cairn = new Cairn({ endpoints: transport.endpoints, transport });
  return { cairn, transport };
}

describe("lock(name, fn)", () => {
  it("passes the fence to fn and releases and revokes afterwards", async () => {
    const { cairn, transport } = lockServer();
    const result = await cairn.lock(
      "deploy",
      async (fence) => {
        expect(fence).toMatchObject({ lock: "deploy", token: 41 });
        expect(fence.signal.aborted).toBe(false);
        expect(transport.callsTo(RELEASE)).toHaveLength(0);
        return "done";
      },
      { ttlSeconds: 5 },
    );
    expect(result).toBe("done");
    const grant = transport.callsTo(GRANT)[0]?.request as { ID: number; TTL: number };
    expect(grant.ID).toBeGreaterThan(0); // our own id, so the grant is idempotent
    expect(grant.TTL).toBe(5);
    expect(transport.callsTo(ACQUIRE)[0]?.request).toMatchObject({
      name: "deploy",
      leaseId: grant.ID,
    });
    expect(transport.callsTo(RELEASE)[0]?.request).toMatchObject({
      name: "deploy",
      leaseId: grant.ID,
      token: 41,
    });
    expect(transport.callsTo(REVOKE)[0]?.request).toMatchObject({ ID: grant.ID });
    const keepAlive = transport.streams.find((s) => s.path === KEEP_ALIVE);
    expect(keepAlive?.written).toContainEqual({ ID: grant.ID });
    expect(keepAlive?.cancelled).toBe(true);
  });

  it("releases and revokes when fn throws, and rethrows fn's error", async () => {
    const { cairn, transport } = lockServer();
    await expect(
      cairn.lock("deploy", () => {
        throw new Error("migration failed");
      }),
    ).rejects.toThrow("migration failed");
    expect(transport.callsTo(RELEASE)).toHaveLength(1);
    expect(transport.callsTo(REVOKE)).toHaveLength(1);
  });

  it("still rethrows fn's error when the release itself fails", async () => {
    const { cairn, transport } = lockServer();
    const base = transport.handler;
    transport.handler = (call, options) => {
      if (call.path === RELEASE) throw grpcError(status.INTERNAL, "boom");
      return base(call, options);
    };
    await expect(
      cairn.lock("deploy", async () => {
        throw new Error("fn failed");
      }),
    ).rejects.toThrow("fn failed");
    expect(transport.callsTo(REVOKE)).toHaveLength(1);
  });

  it("revokes the lease (withdrawing from the line) when acquiring fails", async () => {
    const { cairn, transport } = lockServer({ acquireFails: true });
    let ran = false;
    // Acquire is retried within the lock's wait budget, so keep that budget short.
    await expect(
      cairn.lock(
        "deploy",
        () => {
          ran = true;
        },
        { waitMs: 300 },
      ),
    ).rejects.toMatchObject({ code: status.DEADLINE_EXCEEDED });
    expect(ran).toBe(false);
    expect(transport.callsTo(RELEASE)).toHaveLength(0);
    expect(transport.callsTo(REVOKE)).toHaveLength(1);
  });

  it("aborts fn's signal and fails the call when the lease is lost", async () => {
    const { cairn, transport } = lockServer();
    // The server says the lease is gone (TTL 0) on the first renewal.
    transport.onBidiWrite = (stream, message) =>
      queueMicrotask(() => stream.push({ ID: (message as { ID: number }).ID, TTL: 0 }));
    let sawAbort = false;
    const error = await cairn
      .lock("deploy", async ({ signal }) => {
        await new Promise<void>((resolve) => {
          if (signal.aborted) resolve();
          signal.addEventListener("abort", () => resolve(), { once: true });
        });
        sawAbort = signal.aborted;
        return "too late";
      })
      .catch((e: unknown) => e);
    expect(sawAbort).toBe(true);
    expect(error).toBeInstanceOf(LeaseLostError);
    expect(transport.callsTo(REVOKE)).toHaveLength(1);
  });

  it("does nothing when the caller's signal is already aborted", async () => {
    const { cairn, transport } = lockServer();
    const controller = new AbortController();
    controller.abort();
    await expect(cairn.lock("deploy", () => "x", { signal: controller.signal })).rejects.toThrow(
      /aborted/,
    );
    expect(transport.calls).toHaveLength(0);
  });
});
