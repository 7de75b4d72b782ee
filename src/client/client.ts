// The cairn client: one object over several endpoints with failover, the
// etcd KV and Lease basics, and the typed platform API (users, resources, op
// log, locks, membership). Reads and idempotent calls are retried on another
// member; writes only when they provably never reached one (invoker.ts and
// retry-policy.ts hold the rules). `CairnClient` is the same class under its
// original name.

import type { cairn } from "../gen/cairn.js";
import { ClusterApi } from "./cluster.js";
import type { CallOptions } from "./invoker.js";
import { Invoker, Session } from "./invoker.js";
import { type GetOptions, type KeyValue, KvApi, type PutOptions } from "./kv.js";
import { type LeaderMove, moveLeader } from "./leader-transfer.js";
import { LeaseApi } from "./lease.js";
import { LocksApi } from "./locks.js";
import { MembershipApi } from "./membership.js";
import { NODE_STATUS } from "./methods.js";
import { OpLogApi } from "./oplog.js";
import { ResourcesApi } from "./resources.js";
import type { BackoffOptions } from "./retry-policy.js";
import {
  type SnapshotOptions,
  type SnapshotSaved,
  type SnapshotSink,
  streamSnapshot,
} from "./snapshot.js";
import { GrpcTransport, type Transport } from "./transport.js";
import { UsersApi } from "./users.js";
import { type LockContext, type LockOptions, withLock } from "./with-lock.js";

/** Default bound on attempts per call (see the constructor). */
const ATTEMPTS_DEFAULT = 100;
export interface ClientOptions {
  /** host:port (or http://host:port) of any members; more give failover. */
  readonly endpoints: readonly string[];
  /** Longest single attempt in ms (default 5000), so a hung member cannot eat a call's budget. */
  readonly timeoutMs?: number;
  /** Default budget of one call in ms, retries and backoff included (default 2 × timeoutMs). */
  readonly callTimeoutMs?: number;
  /** Attempts per call across endpoints (default max(100, 10 × endpoints); the deadline bounds time). */
  readonly attemptsMax?: number;
  readonly backoff?: BackoffOptions;
  /** A bearer token from an earlier login (the CLI keeps one on disk). */
  readonly token?: string;
  /** Replaces the gRPC transport (tests). */
  readonly transport?: Transport;
}

export type { KeyValue, LeaderMove };
export type NodeStatus = cairn.v1.NodeStatusResponse;

export class Cairn {
  readonly kv: KvApi;
  /** The Raft membership: list, add, promote, update, remove members. */
  readonly cluster: ClusterApi;
  readonly lease: LeaseApi;
  readonly users: UsersApi;
  readonly resources: ResourcesApi;
  readonly opLog: OpLogApi;
  readonly locks: LocksApi;
  readonly membership: MembershipApi;
  private readonly invoker: Invoker;

  constructor(options: ClientOptions) {
    const transport = options.transport ?? new GrpcTransport(options.endpoints);
    const attemptTimeoutMs = options.timeoutMs ?? 5_000;
    this.invoker = new Invoker(transport, new Session(options.token ?? null), {
      attemptTimeoutMs,
      callTimeoutMs: options.callTimeoutMs ?? 2 * attemptTimeoutMs,
      // Like etcd's clientv3 (100 read retries): the call deadline is what
      // bounds a call; a small attempt count ran out during an election, when
      // members answer "no leader" fast.
      attemptsMax:
        options.attemptsMax ?? Math.max(ATTEMPTS_DEFAULT, 10 * transport.endpoints.length),
      ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
    });
    this.kv = new KvApi(this.invoker);
    this.cluster = new ClusterApi(this.invoker);
    this.lease = new LeaseApi(this.invoker);
    this.users = new UsersApi(this.invoker);
    this.resources = new ResourcesApi(this.invoker);
    this.opLog = new OpLogApi(this.invoker);
    this.locks = new LocksApi(this.invoker);
    this.membership = new MembershipApi(this.invoker, this.lease);
  }

  /** The session's bearer token (set by users.login, cleared by users.logout). */
  get token(): string | null {
    return this.invoker.session.token;
  }

  set token(token: string | null) {
    this.invoker.session.set(token);
  }

  /** Called whenever the token changes (login, logout), e.g. to persist it. */
  onTokenChange(listener: (token: string | null) => void): () => void {
    return this.invoker.session.onChange(listener);
  }

  /**
   * Runs `fn` while holding the platform lock `name`: acquires (waiting in
   * line up to waitMs), keeps the lease alive, passes the fence to `fn`, and
   * releases afterwards even when `fn` throws.
   */
  lock<T>(
    name: string,
    fn: (context: LockContext) => Promise<T> | T,
    options: LockOptions = {},
  ): Promise<T> {
    return withLock({ lease: this.lease, locks: this.locks }, name, fn, options);
  }

  put(
    key: string | Uint8Array,
    value: string | Uint8Array,
    options: PutOptions = {},
  ): Promise<{ revision: number }> {
    return this.kv.put(key, value, options);
  }

  get(key: string | Uint8Array, options: GetOptions = {}): Promise<KeyValue | null> {
    return this.kv.get(key, options);
  }

  delete(key: string | Uint8Array, options: CallOptions = {}): Promise<{ deleted: number }> {
    return this.kv.delete(key, options);
  }

  /** Status of one endpoint (by index), not failed over: it describes that member. */
  status(endpointIndex: number, options: CallOptions = {}): Promise<NodeStatus> {
    if (!(endpointIndex >= 0 && endpointIndex < this.endpointCount)) {
      return Promise.reject(new RangeError(`no endpoint #${endpointIndex}`));
    }
    return this.invoker.unary(
      NODE_STATUS,
      {},
      {
        ...options,
        safety: "read",
        endpoint: endpointIndex,
        attemptsMax: 1,
        requireLeader: false,
        timeoutMs: options.timeoutMs ?? this.invoker.attemptTimeoutMs,
      },
    );
  }

  /**
   * Streams a member's snapshot (etcd Maintenance.Snapshot, the format of
   * src/storage/snapshot-file.ts) into `sink`; see snapshot.ts. The caller
   * verifies the bytes (their SHA-256 trailer) before trusting them.
   */
  snapshot(sink: SnapshotSink, options: SnapshotOptions = {}): Promise<SnapshotSaved> {
    return streamSnapshot(this.invoker, sink, options);
  }

  /**
   * Makes `target` (a member name, or its id as a number or in hex) the
   * leader: finds the leader among the endpoints and asks it to hand over
   * (etcd's MoveLeader), resolving once the target leads. Writes made during
   * the handoff wait on the old leader and then land. Throws
   * UnknownMemberError for a target the cluster does not have,
   * LeaderNotFoundError when no endpoint leads, and etcd's "leader transfer
   * took too long" when the target could not take over.
   */
  moveLeader(target: string | number, options: CallOptions = {}): Promise<LeaderMove> {
    return moveLeader(this.invoker, (i, o) => this.status(i, o), target, options);
  }

  get endpoints(): readonly string[] {
    return this.invoker.transport.endpoints;
  }

  get endpointCount(): number {
    return this.invoker.endpointCount;
  }

  /** Stops every watch, view and keep-alive of this client and closes its channels. */
  close(): void {
    this.invoker.close();
  }
}

export { Cairn as CairnClient };
