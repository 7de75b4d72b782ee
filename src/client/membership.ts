// cairn.v1.Membership: groups of lease-bound members and key placement.
// join() grants a lease with an id of our choosing and joins with it, both
// idempotent, then keeps the lease alive and hands back a handle; view()
// mirrors a group locally so locate() needs no round trip.
import { cairn } from "../gen/cairn.js";
import { fromMember, fromMembershipChange } from "./convert.js";
import { GrpcStatus, type LeaseLostError, type StatusLike } from "./errors.js";
import type { CallOptions, Invoker } from "./invoker.js";
import type { LeaseKeepAlive } from "./keep-alive.js";
import { type LeaseApi, randomLeaseId } from "./lease.js";
import { MembershipView } from "./membership-view.js";
import { MEMBERSHIP } from "./platform-methods.js";
import type { Member, MembershipChange } from "./types.js";
import { type Watch, type WatchOptions, WatchStream } from "./watch-stream.js";

export interface JoinInput {
  readonly group: string;
  readonly memberId: string;
  /** Where the member serves (1..256 printable characters), e.g. "10.0.0.1:6379". */
  readonly address: string;
  /** 1..1000; unset = 1. */
  readonly weight?: number;
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface JoinOptions extends CallOptions {
  /** TTL of the lease the membership lives on; default 10 s. */
  readonly ttlSeconds?: number;
}

/**
 * A change of a group and its members after it. With no changes it is a
 * snapshot: the watch's first answer, or a fresh List after a reconnect.
 */
export interface MembershipUpdate {
  readonly revision: number;
  readonly changes: readonly MembershipChange[];
  readonly members: readonly Member[];
}

export const DEFAULT_MEMBER_TTL_SECONDS = 10;

/**
 * A joined member: alive while its lease is kept alive. `leave()` leaves and
 * revokes the lease; `onLost` fires if the lease could not be renewed (the
 * cluster has dropped the member by then); `onChange` follows the group.
 */
export class MemberHandle {
  private watch: Watch<MembershipUpdate> | null = null;
  private readonly changeListeners = new Set<(update: MembershipUpdate) => void>();
  private left = false;

  constructor(
    private readonly api: MembershipApi,
    private readonly lease: LeaseApi,
    private readonly keepAlive: LeaseKeepAlive,
    readonly member: Member,
    readonly change: MembershipChange | null,
  ) {}

  get leaseId(): number {
    return this.keepAlive.leaseId;
  }

  /** Aborted when the membership's lease is lost. */
  get signal(): AbortSignal {
    return this.keepAlive.signal;
  }

  onLost(listener: (error: LeaseLostError) => void): () => void {
    return this.keepAlive.onLost(listener);
  }

  /**
   * The group's members now (a snapshot, no changes), then on every change;
   * the first subscriber starts a watch.
   */
  onChange(listener: (update: MembershipUpdate) => void): () => void {
    this.changeListeners.add(listener);
    if (this.watch === null) this.follow();
    return () => {
      this.changeListeners.delete(listener);
      if (this.changeListeners.size === 0) {
        this.watch?.close();
        this.watch = null;
      }
    };
  }

  /**
   * Stops keeping the membership alive without leaving: the member stays
   * until its lease's TTL runs out (a process that joins and exits).
   */
  detach(): void {
    this.left = true;
    this.watch?.close();
    this.watch = null;
    this.keepAlive.stop();
  }

  /** Leaves the group and revokes the lease; safe to call twice. */
  async leave(options: CallOptions = {}): Promise<void> {
    if (this.left) return;
    this.left = true;
    this.watch?.close();
    this.watch = null;
    this.keepAlive.stop();
    try {
      await this.api.leave(this.member.group, this.member.memberId, options);
    } finally {
      // The lease goes too, so nothing of this member outlives leave().
      await this.lease.revoke(this.leaseId, options).catch(() => {});
    }
  }

  private follow(): void {
    const watch = this.api.watch(this.member.group);
    this.watch = watch;
    void (async () => {
      try {
        for await (const update of watch) {
          for (const listener of this.changeListeners) listener(update);
        }
      } catch {
        // A watch that gives up ends the subscription; the handle stays joined.
        if (this.watch === watch) this.watch = null;
      }
    })();
  }
}

export class MembershipApi {
  constructor(
    private readonly invoker: Invoker,
    private readonly lease: LeaseApi,
  ) {}

  /** Joins `group` on a fresh lease kept alive until leave() (or loss). */
  async join(input: JoinInput, options: JoinOptions = {}): Promise<MemberHandle> {
    const ttlSeconds = options.ttlSeconds ?? DEFAULT_MEMBER_TTL_SECONDS;
    const grant = await this.lease.grant(ttlSeconds, { ...options, id: randomLeaseId() });
    const keepAlive = this.lease.keepAlive(grant.id, grant.ttlSeconds);
    try {
      const response = await this.joinWithLease(input, grant.id, options);
      return new MemberHandle(
        this,
        this.lease,
        keepAlive,
        fromMember(response.member ?? {}),
        response.change ? fromMembershipChange(response.change) : null,
      );
    } catch (error) {
      keepAlive.stop();
      await this.lease.revoke(grant.id).catch(() => {});
      throw error;
    }
  }

  /** Joins (or updates in place) on a lease the caller manages; idempotent. */
  async joinWithLease(
    input: JoinInput,
    leaseId: number,
    options: CallOptions = {},
  ): Promise<cairn.v1.JoinResponse> {
    return this.invoker.unary(
      MEMBERSHIP.Join,
      {
        group: input.group,
        memberId: input.memberId,
        address: input.address,
        weight: input.weight ?? 0,
        metadata: { ...(input.metadata ?? {}) },
        leaseId,
        ttlSeconds: 0,
      },
      { ...options, safety: "idempotent" },
    );
  }

  /** Leaves; a retry that finds the member already gone counts as done. */
  async leave(
    group: string,
    memberId: string,
    options: CallOptions = {},
  ): Promise<MembershipChange | null> {
    const response = await this.invoker.unary(
      MEMBERSHIP.Leave,
      { group, memberId },
      {
        ...options,
        safety: "idempotent",
        appliedEarlier: (error: StatusLike) =>
          error.code === GrpcStatus.NOT_FOUND ? cairn.v1.LeaveResponse.create() : null,
      },
    );
    return response.change ? fromMembershipChange(response.change) : null;
  }

  /** The group's members by member id, and the revision they were read at. */
  async list(
    group: string,
    options: CallOptions = {},
  ): Promise<{ members: Member[]; revision: number }> {
    const response = await this.invoker.unary(
      MEMBERSHIP.List,
      { group },
      { ...options, safety: "read" },
    );
    return { members: response.members.map(fromMember), revision: response.header?.revision ?? 0 };
  }

  /** The server's owners of `key`, best first. */
  async locate(
    group: string,
    key: string,
    options: CallOptions & { readonly replicas?: number } = {},
  ): Promise<{ owners: Member[]; revision: number }> {
    const response = await this.invoker.unary(
      MEMBERSHIP.Locate,
      { group, key, replicas: options.replicas ?? 0 },
      { ...options, safety: "read" },
    );
    return { owners: response.owners.map(fromMember), revision: response.header?.revision ?? 0 };
  }

  /**
   * The group's members now (a snapshot), then every change with the members
   * after it. After a reconnect the first update is a fresh List snapshot, so
   * nothing missed in the gap stays missed.
   */
  watch(group: string, options: WatchOptions = {}): Watch<MembershipUpdate> {
    return new WatchStream(
      this.invoker,
      {
        method: MEMBERSHIP.Watch,
        request: () => ({ group }),
        items: (response) => [
          {
            revision: response.header?.revision ?? 0,
            changes: response.changes.map(fromMembershipChange),
            members: response.members.map(fromMember),
          },
        ],
        resync: async () => {
          const listed = await this.list(group);
          return [{ revision: listed.revision, changes: [], members: listed.members }];
        },
      },
      options,
    );
  }

  /** A local mirror of `group` that answers locate() without a round trip. */
  async view(group: string, options: WatchOptions = {}): Promise<MembershipView> {
    return MembershipView.open(this, group, options);
  }
}
