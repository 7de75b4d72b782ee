// The fast refusals of RaftNode.propose: etcd's apply-backlog rule (committed −
// applied > 5 000 → "too many requests") and a disk that cannot take writes.
import { status as GrpcStatus } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { APPLY_BACKLOG_ENTRIES_MAX, proposalRefusal } from "../../src/server/admission.js";

describe("proposal admission", () => {
  it("admits while committed − applied is at most 5 000, as etcd does", () => {
    expect(APPLY_BACKLOG_ENTRIES_MAX).toBe(5_000);
    expect(proposalRefusal({ commitIndex: 0, appliedIndex: 0, diskProblem: null })).toBeNull();
    expect(
      proposalRefusal({ commitIndex: 15_000, appliedIndex: 10_000, diskProblem: null }),
    ).toBeNull();
  });

  it("refuses with etcd's `too many requests` one entry past the gap", () => {
    const refusal = proposalRefusal({
      commitIndex: 15_001,
      appliedIndex: 10_000,
      diskProblem: null,
    });
    expect(refusal?.code).toBe("TOO_MANY_REQUESTS");
    expect(refusal?.message).toBe("etcdserver: too many requests");
    expect(refusal?.grpcStatus).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
  });

  it("honours a smaller bound when given one", () => {
    expect(
      proposalRefusal({
        commitIndex: 12,
        appliedIndex: 10,
        diskProblem: null,
        backlogEntriesMax: 1,
      })?.code,
    ).toBe("TOO_MANY_REQUESTS");
  });

  it("refuses every proposal while the disk cannot take writes, naming the problem", () => {
    const refusal = proposalRefusal({
      commitIndex: 3,
      appliedIndex: 3,
      diskProblem: "no space left on device (data dir /var/lib/cairn)",
    });
    expect(refusal?.code).toBe("NO_SPACE_ON_DEVICE");
    expect(refusal?.grpcStatus).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    expect(refusal?.message).toBe("etcdserver: no space left on device (data dir /var/lib/cairn)");
  });

  it("reports the disk before the backlog: it is the cause an operator can act on", () => {
    const refusal = proposalRefusal({
      commitIndex: 99_999,
      appliedIndex: 0,
      diskProblem: "no space left on device (data dir /d)",
    });
    expect(refusal?.code).toBe("NO_SPACE_ON_DEVICE");
  });
});
