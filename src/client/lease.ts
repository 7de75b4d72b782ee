// etcd leases: grant, revoke, time-to-live and keep-alive handles. A grant
// may name its own lease id; then it is idempotent (a retry that finds
// "lease already exists" after a lost answer means the first one worked),
// which is how lock() and membership.join() grant safely across failover.
import { randomBytes } from "node:crypto";
import { etcdserverpb } from "../gen/etcd.js";
import { GrpcStatus, type StatusLike } from "./errors.js";
import type { CallOptions, Invoker } from "./invoker.js";
import { LeaseKeepAlive } from "./keep-alive.js";
import { LEASE_GRANT, LEASE_REVOKE, LEASE_TIME_TO_LIVE } from "./methods.js";

export interface LeaseGrant {
  readonly id: number;
  readonly ttlSeconds: number;
}

export interface LeaseTimeToLive {
  readonly id: number;
  /** Seconds left; -1 when the lease does not exist (any more). */
  readonly ttlSeconds: number;
  readonly grantedTtlSeconds: number;
}

const LEASE_EXISTS = "etcdserver: lease already exists";
const LEASE_NOT_FOUND = "etcdserver: requested lease not found";

/** A random lease id in 1..2^53-1: unguessable enough that two clients never pick the same. */
export function randomLeaseId(): number {
  const bytes = randomBytes(7);
  let id = 0;
  for (const byte of bytes) id = id * 256 + byte;
  return (id % Number.MAX_SAFE_INTEGER) + 1;
}

export class LeaseApi {
  constructor(private readonly invoker: Invoker) {}

  /** Grants a lease; with `id` the grant is idempotent and therefore retried across failover. */
  async grant(
    ttlSeconds: number,
    options: CallOptions & { readonly id?: number } = {},
  ): Promise<LeaseGrant> {
    const id = options.id ?? 0;
    const response = await this.invoker.unary(
      LEASE_GRANT,
      { ID: id, TTL: ttlSeconds },
      {
        ...options,
        safety: id === 0 ? "write" : "idempotent",
        appliedEarlier: (error: StatusLike) =>
          id !== 0 && error.details === LEASE_EXISTS
            ? etcdserverpb.LeaseGrantResponse.create({ ID: id, TTL: ttlSeconds })
            : null,
      },
    );
    return { id: response.ID, ttlSeconds: response.TTL };
  }

  /** Revokes a lease (and with it every key, lock and membership bound to it). */
  async revoke(id: number, options: CallOptions = {}): Promise<void> {
    await this.invoker.unary(
      LEASE_REVOKE,
      { ID: id },
      {
        ...options,
        safety: "idempotent",
        appliedEarlier: (error: StatusLike) =>
          error.code === GrpcStatus.NOT_FOUND && error.details === LEASE_NOT_FOUND
            ? etcdserverpb.LeaseRevokeResponse.create()
            : null,
      },
    );
  }

  async timeToLive(id: number, options: CallOptions = {}): Promise<LeaseTimeToLive> {
    const response = await this.invoker.unary(
      LEASE_TIME_TO_LIVE,
      { ID: id, keys: false },
      { ...options, safety: "read" },
    );
    return { id: response.ID, ttlSeconds: response.TTL, grantedTtlSeconds: response.grantedTTL };
  }

  /** Starts renewing `id` every TTL/3 until `stop()`, or until it is lost. */
  keepAlive(id: number, ttlSeconds: number): LeaseKeepAlive {
    return new LeaseKeepAlive(this.invoker, id, ttlSeconds);
  }
}
