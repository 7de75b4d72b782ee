// LeaseKeepAlive: renewals through Raft coalesced per lease, TTL 0 (not an
// error) for unknown or expired leases, the header taken before the renewal,
// other failures ending the stream with their status, and per-stream flow
// control.
import { EventEmitter } from "node:events";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { CairnError } from "../../../src/server/errors.js";
import {
  KEEPALIVES_IN_FLIGHT_PER_STREAM_MAX,
  RenewBatcher,
  serveKeepAlive,
} from "../../../src/server/lease/keep-alive.js";
import type { RaftNode } from "../../../src/server/raft-node.js";
import type { ApplyResult } from "../../../src/state/index.js";
import { FakeMember, headers, settle } from "../lock/fake-member.js";

/** A member whose proposals stay pending until the test settles them. */
class ManualNode {
  readonly pending: Array<{
    leaseId: number;
    resolve: (result: ApplyResult) => void;
    reject: (error: Error) => void;
  }> = [];

  propose(command: { kind: string; leaseId: number }): Promise<ApplyResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ leaseId: command.leaseId, resolve, reject });
    });
  }

  renewed(index: number, ttlSeconds: number): void {
    const entry = this.pending[index];
    entry?.resolve({
      kind: "lease-renew",
      ok: { revision: 1, id: entry.leaseId, ttlSeconds },
    });
  }
}

describe("RenewBatcher", () => {
  it("shares one proposal between concurrent renewals of a lease, not across leases", async () => {
    const node = new ManualNode();
    const renews = new RenewBatcher(node as unknown as RaftNode);
    const a1 = renews.renew(1);
    const a2 = renews.renew(1);
    const b = renews.renew(2);
    await settle();
    expect(node.pending.map((p) => p.leaseId)).toEqual([1, 2]);
    node.renewed(0, 30);
    node.renewed(1, 10);
    expect(await Promise.all([a1, a2, b])).toEqual([30, 30, 10]);
    expect(renews.pending).toBe(0);
    const again = renews.renew(1);
    await settle();
    expect(node.pending).toHaveLength(3);
    node.renewed(2, 30);
    expect(await again).toBe(30);
  });

  it("answers TTL 0 for unknown, expired and impossible leases", async () => {
    const member = new FakeMember();
    const renews = new RenewBatcher(member as unknown as RaftNode);
    expect(await renews.renew(99)).toBe(0);
    await member.propose({ kind: "lease-grant", leaseId: 5, ttlSeconds: 2 });
    member.nowMs += 2_000;
    expect(await renews.renew(5)).toBe(0);
    const proposals = member.proposals.length;
    expect(await renews.renew(-1)).toBe(0);
    expect(member.proposals).toHaveLength(proposals);
  });

  it("rejects on other failures and forgets the failed renewal", async () => {
    const node = new ManualNode();
    const renews = new RenewBatcher(node as unknown as RaftNode);
    const failing = renews.renew(1);
    await settle();
    node.pending[0]?.reject(new CairnError("LEADER_CHANGED"));
    await expect(failing).rejects.toThrow("etcdserver: leader changed");
    expect(renews.pending).toBe(0);
  });
});

class FakeStream extends EventEmitter {
  readonly written: Array<{ ID: number; TTL: number; revision: number }> = [];
  paused = false;
  ended = false;
  write(response: { ID: number; TTL: number; header: { revision: number } }): boolean {
    this.written.push({ ID: response.ID, TTL: response.TTL, revision: response.header.revision });
    return true;
  }
  end(): void {
    this.ended = true;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  isPaused(): boolean {
    return this.paused;
  }
}

describe("serveKeepAlive", () => {
  function open() {
    const node = new ManualNode();
    const stream = new FakeStream();
    let revision = 7;
    serveKeepAlive(stream as never, {
      renews: new RenewBatcher(node as unknown as RaftNode),
      headers,
      revision: () => revision,
    });
    return { node, stream, bump: () => revision++ };
  }

  it("answers each request with {ID, TTL} and a header taken before the renewal", async () => {
    const { node, stream, bump } = open();
    stream.emit("data", { ID: 3 });
    bump();
    await settle();
    node.renewed(0, 60);
    await settle();
    expect(stream.written).toEqual([{ ID: 3, TTL: 60, revision: 7 }]);
  });

  it("ends the stream after the client's end once every answer is out", async () => {
    const { node, stream } = open();
    stream.emit("data", { ID: 3 });
    stream.emit("end");
    await settle();
    expect(stream.ended).toBe(false);
    node.renewed(0, 60);
    await settle();
    expect(stream.ended).toBe(true);
  });

  it("ends the stream with the error's status when a renewal fails for another reason", async () => {
    const { node, stream } = open();
    const errors: Array<{ code?: number; details?: string }> = [];
    stream.on("error", (error) => errors.push(error));
    stream.emit("data", { ID: 3 });
    await settle();
    node.pending[0]?.reject(new CairnError("NO_LEADER"));
    await settle();
    expect(errors).toEqual([
      expect.objectContaining({ code: GrpcStatus.UNAVAILABLE, details: "etcdserver: no leader" }),
    ]);
    expect(stream.written).toEqual([]);
  });

  it(`stops reading at ${KEEPALIVES_IN_FLIGHT_PER_STREAM_MAX} renewals in flight`, async () => {
    const { node, stream } = open();
    for (let id = 1; id <= KEEPALIVES_IN_FLIGHT_PER_STREAM_MAX; id++) {
      stream.emit("data", { ID: id });
    }
    expect(stream.paused).toBe(true);
    await settle();
    node.renewed(0, 5);
    await settle();
    expect(stream.paused).toBe(false);
  });
});
