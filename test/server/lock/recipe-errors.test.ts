// The Lock/Election call adapter: etcd's statuses (request errors arrive as
// UNKNOWN with etcd's message, retryable ones keep theirs) and the abort
// signal a waiting handler gets on client cancel or deadline.
import { EventEmitter } from "node:events";
import { status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { CairnError } from "../../../src/server/errors.js";
import {
  RecipeError,
  toRecipeServiceError,
  unaryWithSignal,
} from "../../../src/server/lock/recipe-errors.js";

describe("recipe errors", () => {
  it("sends recipe errors as UNKNOWN with etcd's bare message", () => {
    expect(toRecipeServiceError(new RecipeError("SESSION_EXPIRED"))).toMatchObject({
      code: GrpcStatus.UNKNOWN,
      details: "mutex: session is expired",
    });
    expect(toRecipeServiceError(new RecipeError("ELECTION_NO_LEADER"))).toMatchObject({
      code: GrpcStatus.UNKNOWN,
      details: "election: no leader",
    });
  });

  it("sends request errors as UNKNOWN, as etcd's embedded client does, and keeps retryable ones", () => {
    expect(toRecipeServiceError(new CairnError("LEASE_NOT_FOUND"))).toMatchObject({
      code: GrpcStatus.UNKNOWN,
      details: "etcdserver: requested lease not found",
    });
    expect(toRecipeServiceError(new CairnError("KEY_NOT_PROVIDED"))).toMatchObject({
      code: GrpcStatus.UNKNOWN,
      details: "etcdserver: key is not provided",
    });
    expect(toRecipeServiceError(new CairnError("NO_LEADER"))).toMatchObject({
      code: GrpcStatus.UNAVAILABLE,
      details: "etcdserver: no leader",
    });
    expect(toRecipeServiceError(new Error("boom"))).toMatchObject({ code: GrpcStatus.INTERNAL });
  });
});

class FakeUnaryCall extends EventEmitter {
  constructor(
    readonly request: string,
    private readonly deadline: number,
  ) {
    super();
  }
  getDeadline(): number {
    return this.deadline;
  }
}

function run(call: FakeUnaryCall) {
  const reply = new Promise<{ error: Partial<ServiceError> | null; value?: string }>((resolve) => {
    const handler = unaryWithSignal<string, string>(
      (request, signal) =>
        new Promise((done, fail) => {
          signal.addEventListener("abort", () => fail(signal.reason));
          if (request === "now") done("answered");
        }),
    );
    handler(call as never, (error, value) => resolve({ error, ...(value ? { value } : {}) }));
  });
  return { reply };
}

describe("unaryWithSignal", () => {
  it("answers with the handler's value", async () => {
    const { reply } = run(new FakeUnaryCall("now", Number.POSITIVE_INFINITY));
    expect(await reply).toEqual({ error: null, value: "answered" });
  });

  it("aborts the handler when the client cancels", async () => {
    const call = new FakeUnaryCall("wait", Number.POSITIVE_INFINITY);
    const { reply } = run(call);
    await new Promise((resolve) => setImmediate(resolve));
    call.emit("cancelled");
    expect((await reply).error).toMatchObject({ code: GrpcStatus.CANCELLED });
  });

  it("aborts the handler when the call's deadline passes", async () => {
    const { reply } = run(new FakeUnaryCall("wait", Date.now() + 30));
    expect((await reply).error).toMatchObject({
      code: GrpcStatus.DEADLINE_EXCEEDED,
      details: "context deadline exceeded",
    });
  });
});
