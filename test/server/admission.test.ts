// The fast refusals of RaftNode.propose: etcd's apply-backlog rule (committed −
// applied > 5 000 → "too many requests") and a disk that cannot take writes.
import { status as GrpcStatus } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { APPLY_BACKLOG_ENTRIES_MAX, proposalRefusal } from "../../src/server/admission.js";

describe("proposal admission", () => {
  it("admits while committed − applied is at most 5 000, as etcd does", () => {
    expect(APPLY_BACKLOG_ENTRIES_MAX).toBe(5_000);
    expect(
      proposalRefusal({
        commitIndex: 0,
        appliedIndex: 0,
        diskPaused: null,
        diskLow: null,
        kind: "put",
      }),
    ).toBeNull();
    expect(
      proposalRefusal({
        commitIndex: 15_000,
        appliedIndex: 10_000,
        diskPaused: null,
        diskLow: null,
        kind: "put",
      }),
    ).toBeNull();
  });

  it("refuses with etcd's `too many requests` one entry past the gap", () => {
    const refusal = proposalRefusal({
      commitIndex: 15_001,
      appliedIndex: 10_000,
      diskPaused: null,
      diskLow: null,
      kind: "put",
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
        diskPaused: null,
        diskLow: null,
        kind: "put",
        backlogEntriesMax: 1,
      })?.code,
    ).toBe("TOO_MANY_REQUESTS");
  });

  it("refuses every proposal while the loop waits for a full disk, naming the problem", () => {
    for (const kind of ["put", "lease-revoke", "alarm"] as const) {
      expect(
        proposalRefusal({
          kind,
          commitIndex: 3,
          appliedIndex: 3,
          diskPaused: "no space left on device (data dir /d)",
          diskLow: null,
        })?.code,
      ).toBe("NO_SPACE_ON_DEVICE");
    }
    const refusal = proposalRefusal({
      kind: "put",
      commitIndex: 3,
      appliedIndex: 3,
      diskPaused: "no space left on device (data dir /var/lib/cairn)",
      diskLow: null,
    });
    expect(refusal?.code).toBe("NO_SPACE_ON_DEVICE");
    expect(refusal?.grpcStatus).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    expect(refusal?.message).toBe("etcdserver: no space left on device (data dir /var/lib/cairn)");
  });

  it("reports the disk before the backlog: it is the cause an operator can act on", () => {
    const refusal = proposalRefusal({
      kind: "put",
      commitIndex: 99_999,
      appliedIndex: 0,
      diskPaused: "no space left on device (data dir /d)",
      diskLow: null,
    });
    expect(refusal?.code).toBe("NO_SPACE_ON_DEVICE");
  });

  it("below the free-space reserve refuses what grows the data, not deletes, keep-alives or housekeeping", () => {
    const low = "no space left on device (data dir /d): 10 bytes free, below the reserve";
    const at = (kind: Parameters<typeof proposalRefusal>[0]["kind"]) =>
      proposalRefusal({ kind, commitIndex: 1, appliedIndex: 1, diskPaused: null, diskLow: low });
    for (const kind of ["put", "txn", "lease-grant", "user-register", "resource-create"] as const) {
      expect(at(kind)?.message, kind).toBe(`etcdserver: ${low}`);
    }
    for (const kind of [
      "delete-range",
      "lease-renew",
      "lease-revoke",
      "compact",
      "alarm",
      "member-attributes",
      "digest-checkpoint",
    ] as const) {
      expect(at(kind), kind).toBeNull();
    }
  });
});
