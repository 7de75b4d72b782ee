// Error mapping of the cairn.v1 API: each `platform-error` code reaches the
// client as exactly one gRPC status with the state machine's message
// unchanged; etcd apply errors (a lease a command named) keep etcd's; and a
// refusal from a real apply arrives as its status.
import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { CairnError, toServiceError } from "../../../src/server/errors.js";
import {
  expectResult,
  orThrow,
  platformError,
  registryCode,
  throwRefusal,
} from "../../../src/server/platform/platform-errors.js";
import type { ApplyResult, PlatformErrorCode } from "../../../src/state/index.js";
import { FakePlatformNode, seedUser } from "./fake-node.js";

const STATUS_OF: Readonly<Record<PlatformErrorCode, number>> = {
  "invalid-argument": status.INVALID_ARGUMENT,
  "not-found": status.NOT_FOUND,
  "already-exists": status.ALREADY_EXISTS,
  "failed-precondition": status.FAILED_PRECONDITION,
  aborted: status.ABORTED,
  "permission-denied": status.PERMISSION_DENIED,
};

function thrownBy(run: () => unknown): CairnError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CairnError);
    return error as CairnError;
  }
  throw new Error("expected a throw");
}

describe("platform error mapping", () => {
  it.each(Object.entries(STATUS_OF))("%s → gRPC status %i, message unchanged", (code, grpc) => {
    const message = `resource.spec.cpu must be 1..512, got 0 (${code})`;
    const error = platformError({
      kind: "platform-error",
      code: code as PlatformErrorCode,
      message,
    });
    const converted = toServiceError(error);
    expect(converted.code).toBe(grpc);
    expect(converted.details).toBe(message);
  });

  it("gives every code its own status", () => {
    const codes = Object.keys(STATUS_OF) as PlatformErrorCode[];
    expect(new Set(codes.map(registryCode)).size).toBe(codes.length);
    expect(new Set(Object.values(STATUS_OF)).size).toBe(codes.length);
  });

  it("keeps etcd's status and message for an etcd apply error", () => {
    const error = thrownBy(() => throwRefusal({ kind: "error", code: "lease-not-found" }));
    expect(toServiceError(error)).toMatchObject({
      code: status.NOT_FOUND,
      details: "etcdserver: requested lease not found",
    });
  });

  it("returns the expected result kind and throws anything else", () => {
    const ok: ApplyResult = {
      kind: "user-logout",
      ok: { revision: 3, username: "alice" },
    };
    expect(expectResult(ok, "user-logout").ok.username).toBe("alice");
    const refused: ApplyResult = { kind: "platform-error", code: "aborted", message: "stale" };
    expect(toServiceError(thrownBy(() => expectResult(refused, "user-logout")))).toMatchObject({
      code: status.ABORTED,
      details: "stale",
    });
    expect(orThrow({ users: [] })).toEqual({ users: [] });
    expect(thrownBy(() => orThrow(refused)).grpcStatus).toBe(status.ABORTED);
  });

  it("passes a real refusal from apply through with its status", async () => {
    const node = new FakePlatformNode();
    await seedUser(node, "alice", []);
    const result = await node.propose({
      kind: "resource-lifecycle",
      actor: "alice",
      resourceId: "srv-404",
      action: "start",
      reason: "",
      fence: null,
    });
    const error = thrownBy(() => expectResult(result, "resource-lifecycle"));
    expect(toServiceError(error)).toMatchObject({
      code: status.NOT_FOUND,
      details: 'resource "srv-404" not found',
    });
  });
});
