// etcd's server-side Lock service (v3lockpb): Lock queues `<name>/<lease hex>`
// under the lease and answers once it is the oldest key under `<name>/`;
// Unlock deletes the key. The key exists exactly while the lock is held, and
// its create revision is the fencing token: guard writes with
// Compare(CREATE, key) == that revision. A lock is only as safe as that
// fencing: the lease can expire while the holder is paused.
import type { Server } from "@grpc/grpc-js";
import { v3lockpb } from "../../gen/etcd.js";
import { addTypedService, unaryMethod } from "../../transport/grpc-codec.js";
import { CairnError } from "../errors.js";
import { requireKey } from "../kv-codec.js";
import { type HeaderSource, throwApplyError, type WriteGate } from "../kv-handlers.js";
import { isLeaseId } from "../lease/ttl.js";
import type { RaftNode } from "../raft-node.js";
import { DeleteWaiters } from "./delete-waiters.js";
import { claimQueue, holdQueue, type QueueDeps, sessionLease } from "./queue-claim.js";
import { RecipeError, unaryWithSignal } from "./recipe-errors.js";

export const LOCK_SERVICE = {
  Lock: unaryMethod("/v3lockpb.Lock/Lock", v3lockpb.LockRequest, v3lockpb.LockResponse),
  Unlock: unaryMethod("/v3lockpb.Lock/Unlock", v3lockpb.UnlockRequest, v3lockpb.UnlockResponse),
};

const EMPTY = new Uint8Array(0);

export interface LockOptions {
  /** Test-only planted bug (--unsafe early-lock-grant): answer right after the claim, never wait. */
  readonly earlyGrant?: boolean;
}

export class LockHandlers {
  constructor(
    private readonly deps: QueueDeps,
    private readonly options: LockOptions = {},
  ) {}

  async lock(
    request: v3lockpb.LockRequest,
    signal: AbortSignal,
  ): Promise<v3lockpb.LockResponse.$Properties> {
    if (request.lease !== 0 && !isLeaseId(request.lease)) throw new CairnError("LEASE_NOT_FOUND");
    const leaseId = await sessionLease(this.deps, request.lease);
    const claim = await claimQueue(this.deps, request.name, leaseId, EMPTY);
    if (this.options.earlyGrant === true) {
      return { header: this.deps.headers.header(claim.revision), key: claim.key };
    }
    const lost = (): Error => new RecipeError("SESSION_EXPIRED");
    const revision = await holdQueue(this.deps, claim, signal, lost);
    return { header: this.deps.headers.header(revision), key: claim.key };
  }

  async unlock(request: v3lockpb.UnlockRequest): Promise<v3lockpb.UnlockResponse.$Properties> {
    const key = requireKey(request.key);
    this.deps.gate.admit("delete");
    const result = await this.deps.node.propose({
      kind: "delete-range",
      key,
      rangeEnd: EMPTY,
      prevKv: false,
    });
    if (result.kind !== "delete-range") throwApplyError(result);
    return { header: this.deps.headers.header(result.ok.revision) };
  }
}

export interface LockServiceDeps {
  readonly node: RaftNode;
  readonly headers: HeaderSource;
  readonly gate: WriteGate;
}

export function registerLockService(
  server: Server,
  deps: LockServiceDeps,
  options: LockOptions = {},
): void {
  const deletes = new DeleteWaiters();
  deps.node.onApplied((events) => deletes.onApplied(events));
  const handlers = new LockHandlers({ ...deps, deletes }, options);
  addTypedService(server, LOCK_SERVICE, {
    Lock: unaryWithSignal((r, signal) => handlers.lock(r, signal)),
    Unlock: unaryWithSignal((r) => handlers.unlock(r)),
  });
}
