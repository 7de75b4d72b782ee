// Wires etcd's Lease service onto the client port and runs the member's lease
// expiry driver (active only while this member leads).
import type { Server } from "@grpc/grpc-js";
import { addTypedService } from "../../transport/grpc-codec.js";
import type { HeaderSource, WriteGate } from "../kv-handlers.js";
import type { Logger } from "../logger.js";
import type { RaftNode } from "../raft-node.js";
import { unary } from "../services.js";
import { ExpiryDriver, type ExpirySource } from "./expiry-driver.js";
import { RenewBatcher, serveKeepAlive } from "./keep-alive.js";
import { LeaseHandlers } from "./lease-handlers.js";
import { LEASE_SERVICE } from "./lease-service.js";

export interface LeaseServiceDeps {
  readonly node: RaftNode;
  readonly headers: HeaderSource;
  readonly gate: WriteGate;
  readonly electionTimeoutMs: number;
  readonly logger: Logger;
}

export interface LeaseService {
  /** Stops the expiry driver; open streams end with the gRPC server. */
  stop(): void;
}

function expirySource(node: RaftNode): ExpirySource {
  return {
    get isLeader() {
      return node.isLeader;
    },
    get appliedIndex() {
      return node.appliedIndex;
    },
    get lastLogIndex() {
      return node.lastLogIndex;
    },
    onLeadership: (listener) => node.onLeadership(listener),
    expired: (nowMs, max) => node.stateMachine.leases.expired(nowMs, max),
    // async: propose throws synchronously when its queue is full; the driver wants a rejection.
    revoke: async (leaseId) => node.propose({ kind: "lease-revoke", leaseId, onlyIfExpired: true }),
  };
}

export function registerLeaseService(server: Server, deps: LeaseServiceDeps): LeaseService {
  const { node, headers } = deps;
  const handlers = new LeaseHandlers(deps);
  const renews = new RenewBatcher(node);
  const revision = (): number => node.stateMachine.kv.revision;
  addTypedService(server, LEASE_SERVICE, {
    LeaseGrant: unary((r) => handlers.grant(r)),
    LeaseRevoke: unary((r) => handlers.revoke(r)),
    LeaseKeepAlive: (call) => serveKeepAlive(call, { renews, headers, revision }),
    LeaseTimeToLive: unary((r) => handlers.timeToLive(r)),
    LeaseLeases: unary(() => handlers.leases()),
  });
  const driver = new ExpiryDriver(expirySource(node), deps.logger);
  driver.start();
  return { stop: () => driver.stop() };
}
