// LeaseKeepAlive: each request on the bidi stream renews its lease through
// Raft (expiry = proposer's clock + TTL, replicated, so a new leader inherits
// it) and is answered with {ID, TTL}. Concurrent renews of one lease — many
// streams, or a client sending faster than Raft commits — share one proposal.
import type { ServerDuplexStream } from "@grpc/grpc-js";
import type { etcdserverpb } from "../../gen/etcd.js";
import { assert } from "../../util/assert.js";
import { toServiceError } from "../errors.js";
import { type HeaderSource, throwApplyError } from "../kv-handlers.js";
import type { RaftNode } from "../raft-node.js";
import { isLeaseId } from "./ttl.js";

/** Renews one stream may have in flight before it stops reading requests. */
export const KEEPALIVES_IN_FLIGHT_PER_STREAM_MAX = 128;

type KeepAliveCall = ServerDuplexStream<
  etcdserverpb.LeaseKeepAliveRequest,
  etcdserverpb.LeaseKeepAliveResponse.$Properties
>;

export class RenewBatcher {
  /** lease id → the renewal in flight; an entry lives exactly as long as its proposal. */
  private readonly inFlight = new Map<number, Promise<number>>();

  constructor(private readonly node: Pick<RaftNode, "propose">) {}

  get pending(): number {
    return this.inFlight.size;
  }

  /**
   * The lease's TTL after the renewal, or 0 for a lease that is unknown or
   * already expired (etcd answers those with TTL 0, not an error). Other
   * failures (no leader, timeout) reject.
   */
  renew(leaseId: number): Promise<number> {
    if (!isLeaseId(leaseId)) return Promise.resolve(0);
    const joined = this.inFlight.get(leaseId);
    if (joined !== undefined) return joined;
    const renewal = this.propose(leaseId).finally(() => {
      assert(this.inFlight.get(leaseId) === renewal, "renewal entry replaced while in flight");
      this.inFlight.delete(leaseId);
    });
    this.inFlight.set(leaseId, renewal);
    return renewal;
  }

  private async propose(leaseId: number): Promise<number> {
    const result = await this.node.propose({ kind: "lease-renew", leaseId });
    if (result.kind === "lease-renew") return result.ok.ttlSeconds;
    if (result.kind === "error" && result.code === "lease-not-found") return 0;
    return throwApplyError(result);
  }
}

export interface KeepAliveDeps {
  readonly renews: RenewBatcher;
  readonly headers: HeaderSource;
  /** The member's current store revision. */
  readonly revision: () => number;
}

/** Serves one LeaseKeepAlive stream until the client ends it or it fails. */
export function serveKeepAlive(call: KeepAliveCall, deps: KeepAliveDeps): void {
  let inFlight = 0;
  let inputEnded = false;
  let closed = false;
  let writeBlocked = false;
  const adjustFlow = (): void => {
    const shouldPause = inFlight >= KEEPALIVES_IN_FLIGHT_PER_STREAM_MAX || writeBlocked;
    if (shouldPause && !call.isPaused()) call.pause();
    if (!shouldPause && call.isPaused()) call.resume();
  };
  const finishIfDone = (): void => {
    if (inputEnded && inFlight === 0 && !closed) {
      closed = true;
      call.end();
    }
  };
  call.on("data", (request: etcdserverpb.LeaseKeepAliveRequest) => {
    if (closed) return;
    // etcd fills the header before renewing, so its revision never runs ahead
    // of the renewal: a lease revoked at rev N is never reported alive at N+1.
    const header = deps.headers.header(deps.revision());
    inFlight++;
    adjustFlow();
    deps.renews
      .renew(request.ID)
      .then(
        (ttlSeconds) => {
          if (closed) return;
          writeBlocked = !call.write({ header, ID: request.ID, TTL: ttlSeconds });
        },
        (error: unknown) => {
          if (closed) return;
          // As etcd: an error other than "lease not found" ends the stream with its status.
          closed = true;
          call.emit("error", toServiceError(error));
        },
      )
      .finally(() => {
        inFlight--;
        adjustFlow();
        finishIfDone();
      });
  });
  call.on("drain", () => {
    writeBlocked = false;
    adjustFlow();
  });
  call.on("end", () => {
    inputEnded = true;
    finishIfDone();
  });
  call.on("cancelled", () => {
    closed = true;
  });
}
