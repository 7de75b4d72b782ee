// The shell's side of leadership transfer, from fake core statuses: when a
// caller's wait ends, when proposals are held, and whom a stopping leader
// picks as its successor.
import { describe, expect, it } from "vitest";
import type { BasicStatus, PeerStatus, RaftStatus } from "../../src/raft/index.js";
import { CairnError } from "../../src/server/errors.js";
import { chooseSuccessor, LeaderTransfers } from "../../src/server/leader-transfer.js";

const LONG_MS = 60_000;

function status(fields: Partial<BasicStatus>): BasicStatus {
  return {
    id: 1,
    term: 2,
    vote: 1,
    commit: 10,
    applied: 10,
    lastIndex: 10,
    lastTerm: 2,
    role: "leader",
    leader: 1,
    leadTransferee: 0,
    electionElapsedTicks: 0,
    ...fields,
  };
}

function peer(id: number, match: number, ticksSinceHeardFrom: number): PeerStatus {
  return {
    id,
    match,
    next: match + 1,
    state: "replicate",
    recentActive: true,
    ticksSinceHeardFrom,
    inflightMessages: 0,
  };
}

function leaderStatus(peers: readonly PeerStatus[]): RaftStatus {
  return { ...status({}), progress: new Map(peers.map((p) => [p.id, p])) };
}

/** The settled state of a promise, without waiting for it. */
async function outcome(promise: Promise<void>): Promise<"pending" | "resolved" | CairnError> {
  const pending = Symbol("pending");
  const result = await Promise.race([
    promise.then(
      () => "resolved" as const,
      (error: CairnError) => error,
    ),
    new Promise<typeof pending>((resolve) => setImmediate(() => resolve(pending))),
  ]);
  return result === pending ? "pending" : result;
}

describe("LeaderTransfers: waits", () => {
  it("resolves once the target leads, through the leaderless moment in between", async () => {
    const transfers = new LeaderTransfers();
    const done = transfers.wait(2, LONG_MS);
    transfers.observe(status({ leadTransferee: 2 }));
    expect(await outcome(done)).toBe("pending");
    transfers.observe(status({ role: "follower", leader: 0, term: 3, vote: 2 }));
    expect(await outcome(done)).toBe("pending");
    transfers.observe(status({ role: "follower", leader: 2, term: 3, vote: 2 }));
    expect(await outcome(done)).toBe("resolved");
  });

  it("fails with etcd's 'leader transfer took too long' when the core gives the transfer up", async () => {
    const transfers = new LeaderTransfers();
    const done = transfers.wait(2, LONG_MS);
    transfers.observe(status({ leadTransferee: 2 }));
    transfers.observe(status({ leadTransferee: 0 }));
    const error = await outcome(done);
    expect(error).toBeInstanceOf(CairnError);
    expect((error as CairnError).message).toBe(
      "etcdserver: request timed out, leader transfer took too long",
    );
    expect((error as CairnError).code).toBe("LEADER_TRANSFER_TIMEOUT");
  });

  it("fails when another member takes over, or the core never took the request", async () => {
    const transfers = new LeaderTransfers();
    const elsewhere = transfers.wait(2, LONG_MS);
    transfers.observe(status({ role: "follower", leader: 3, term: 3 }));
    expect(await outcome(elsewhere)).toMatchObject({ code: "LEADER_TRANSFER_TIMEOUT" });
    const ignored = transfers.wait(9, LONG_MS);
    transfers.observe(status({ leadTransferee: 0 }));
    expect(await outcome(ignored)).toMatchObject({ code: "LEADER_TRANSFER_TIMEOUT" });
  });

  it("fails when this member steps down in the same term (check-quorum), not on the transferee's vote", async () => {
    const transfers = new LeaderTransfers();
    const stepped = transfers.wait(2, LONG_MS);
    transfers.observe(status({ leadTransferee: 2 }));
    transfers.observe(status({ role: "follower", leader: 0 }));
    expect(await outcome(stepped)).toMatchObject({ code: "LEADER_TRANSFER_TIMEOUT" });
    const voting = transfers.wait(2, LONG_MS);
    transfers.observe(status({ leadTransferee: 2 }));
    transfers.observe(status({ role: "follower", leader: 0, term: 3 }));
    expect(await outcome(voting)).toBe("pending");
    transfers.failAll(new CairnError("STOPPED"));
  });

  it("fails at once when the target's connection goes down", async () => {
    const transfers = new LeaderTransfers();
    const done = transfers.wait(2, LONG_MS);
    transfers.observe(status({ leadTransferee: 2 }));
    transfers.peerDown(3);
    expect(await outcome(done)).toBe("pending");
    transfers.peerDown(2);
    expect(await outcome(done)).toMatchObject({ code: "LEADER_TRANSFER_TIMEOUT" });
  });

  it("fails after its timeout while the transfer seems to go on", async () => {
    const transfers = new LeaderTransfers();
    const done = transfers.wait(2, 1);
    transfers.observe(status({ leadTransferee: 2 }));
    await expect(done).rejects.toMatchObject({ code: "LEADER_TRANSFER_TIMEOUT" });
  });

  it("failAll ends every wait with the given error", async () => {
    const transfers = new LeaderTransfers();
    const done = transfers.wait(2, LONG_MS);
    transfers.failAll(new CairnError("STOPPED"));
    expect(await outcome(done)).toMatchObject({ code: "STOPPED" });
  });
});

describe("LeaderTransfers: holding proposals", () => {
  it("holds from the start of a transfer until a new leader is known", () => {
    const transfers = new LeaderTransfers();
    transfers.observe(status({}));
    expect(transfers.holdsProposals).toBe(false);
    transfers.observe(status({ leadTransferee: 2 }));
    expect(transfers.holdsProposals).toBe(true);
    transfers.observe(status({ role: "follower", leader: 0, term: 3 }));
    expect(transfers.holdsProposals).toBe(true);
    transfers.observe(status({ role: "follower", leader: 2, term: 3 }));
    expect(transfers.holdsProposals).toBe(false);
  });

  it("releases when the transfer is given up, or this member campaigns", () => {
    const transfers = new LeaderTransfers();
    transfers.observe(status({ leadTransferee: 2 }));
    transfers.observe(status({ leadTransferee: 0 }));
    expect(transfers.holdsProposals).toBe(false);
    transfers.observe(status({ leadTransferee: 2 }));
    transfers.observe(status({ role: "follower", leader: 0, term: 3 }));
    transfers.observe(status({ role: "pre-candidate", leader: 0, term: 3 }));
    expect(transfers.holdsProposals).toBe(false);
  });

  it("a follower without a leader holds nothing unless a transfer led there", () => {
    const transfers = new LeaderTransfers();
    transfers.observe(status({ role: "follower", leader: 0 }));
    expect(transfers.holdsProposals).toBe(false);
  });
});

describe("chooseSuccessor", () => {
  it("picks the longest log among voters heard from within an election timeout", () => {
    const chosen = chooseSuccessor(
      leaderStatus([peer(2, 8, 1), peer(3, 10, 2), peer(4, 12, 10)]),
      10,
    );
    expect(chosen).toBe(3);
  });

  it("breaks ties by the most recent contact", () => {
    expect(chooseSuccessor(leaderStatus([peer(2, 10, 3), peer(3, 10, 1)]), 10)).toBe(3);
  });

  it("gives null when no voter was heard from lately, or this member does not lead", () => {
    expect(chooseSuccessor(leaderStatus([peer(2, 10, 10), peer(3, 10, 11)]), 10)).toBeNull();
    expect(chooseSuccessor(leaderStatus([]), 10)).toBeNull();
    const follower = { ...status({ role: "follower", leader: 2 }), progress: new Map() };
    expect(chooseSuccessor(follower, 10)).toBeNull();
  });
});
