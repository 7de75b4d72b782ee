// cairn.v1.Membership: lease-bound group members and key placement by
// weighted rendezvous hashing over the committed member ids, so every member
// answers Locate alike at a revision. Watch is live: each applied change of
// the group with its keys-moved summary and the members right after it.
import type { Server } from "@grpc/grpc-js";
import { cairn } from "../../gen/cairn.js";
import { type MembershipChange, validateJoin, validateLocate } from "../../state/index.js";
import { addTypedService, serverStreamMethod, unaryMethod } from "../../transport/grpc-codec.js";
import { CairnError } from "../errors.js";
import { requireGrant } from "./auth.js";
import { currentHeader, header, type PlatformDeps } from "./deps.js";
import { grantTtlSeconds } from "./locks.js";
import { authedUnary, type CallContext } from "./platform-call.js";
import { changeToProto, memberToProto } from "./platform-codec.js";
import { expectResult, invalid, orThrow } from "./platform-errors.js";
import { authedStream, type PlatformStreams, type StreamContext } from "./platform-stream.js";

const M = cairn.v1;
export const MEMBERSHIP_SERVICE = {
  Join: unaryMethod("/cairn.v1.Membership/Join", M.JoinRequest, M.JoinResponse),
  Leave: unaryMethod("/cairn.v1.Membership/Leave", M.LeaveRequest, M.LeaveResponse),
  List: unaryMethod("/cairn.v1.Membership/List", M.ListMembersRequest, M.ListMembersResponse),
  Locate: unaryMethod("/cairn.v1.Membership/Locate", M.LocateRequest, M.LocateResponse),
  Watch: serverStreamMethod(
    "/cairn.v1.Membership/Watch",
    M.WatchMembershipRequest,
    M.WatchMembershipResponse,
  ),
};

/** Responses a membership watch may have waiting for a slow reader before it is ended. */
export const MEMBERSHIP_RESPONSES_QUEUED_MAX = 256;

type WatchResponse = cairn.v1.WatchMembershipResponse.$Properties;

function checkGroup(group: string): void {
  const message = validateLocate(group, "", 1);
  if (message !== null) throw invalid(message);
}

export class MembershipHandlers {
  constructor(private readonly deps: PlatformDeps) {}

  private get platform() {
    return this.deps.node.stateMachine.platform;
  }

  async join(
    request: cairn.v1.JoinRequest,
    { caller }: CallContext,
  ): Promise<cairn.v1.JoinResponse.$Properties> {
    requireGrant(caller, "membership.write");
    const fields = {
      group: request.group,
      memberId: request.memberId,
      address: request.address,
      weight: request.weight === 0 ? 1 : request.weight,
      metadata: { ...request.metadata },
    };
    const message = validateJoin(fields);
    if (message !== null) throw invalid(message);
    const minSeconds = this.deps.leaseTtlMinSeconds;
    const ttlSeconds = grantTtlSeconds(request.leaseId, request.ttlSeconds, minSeconds);
    this.deps.gate.admit("write");
    const result = await this.deps.node.propose({
      kind: "member-join",
      actor: caller.username,
      ...fields,
      leaseId: request.leaseId,
      ttlSeconds,
    });
    const { ok } = expectResult(result, "member-join");
    return {
      header: header(this.deps, ok.revision),
      member: memberToProto(ok.member),
      change: changeToProto(ok.change),
    };
  }

  async leave(
    request: cairn.v1.LeaveRequest,
    { caller }: CallContext,
  ): Promise<cairn.v1.LeaveResponse.$Properties> {
    requireGrant(caller, "membership.write");
    this.deps.gate.admit("delete");
    const result = await this.deps.node.propose({
      kind: "member-leave",
      actor: caller.username,
      group: request.group,
      memberId: request.memberId,
    });
    const { ok } = expectResult(result, "member-leave");
    return { header: header(this.deps, ok.revision), change: changeToProto(ok.change) };
  }

  async list(
    request: cairn.v1.ListMembersRequest,
    { caller }: CallContext,
  ): Promise<cairn.v1.ListMembersResponse.$Properties> {
    requireGrant(caller, "membership.read");
    checkGroup(request.group);
    return {
      header: currentHeader(this.deps),
      members: this.platform.listMembers(request.group).map(memberToProto),
    };
  }

  async locate(
    request: cairn.v1.LocateRequest,
    { caller }: CallContext,
  ): Promise<cairn.v1.LocateResponse.$Properties> {
    requireGrant(caller, "membership.read");
    const replicas = request.replicas === 0 ? 1 : request.replicas;
    const answer = orThrow(this.platform.locate(request.group, request.key, replicas));
    return { header: header(this.deps, answer.revision), owners: answer.owners.map(memberToProto) };
  }

  async watch(
    request: cairn.v1.WatchMembershipRequest,
    context: StreamContext<WatchResponse>,
  ): Promise<void> {
    requireGrant(context.caller, "membership.read");
    checkGroup(request.group);
    const group = request.group;
    const queue: WatchResponse[] = [];
    let wake: (() => void) | null = null;
    // Runs inside apply: it only copies what it needs (the members as of this batch) and never throws.
    const enqueue = (changes: readonly MembershipChange[], revision: number): void => {
      if (queue.length >= MEMBERSHIP_RESPONSES_QUEUED_MAX) {
        context.fail(
          new CairnError(
            "UNAVAILABLE",
            `membership watch of ${group} fell ${queue.length} changes behind; watch again and List to resync`,
          ),
        );
        return;
      }
      queue.push({
        header: header(this.deps, revision),
        changes: changes.map(changeToProto),
        members: this.platform.listMembers(group).map(memberToProto),
      });
      wake?.();
    };
    const stop = this.deps.feed.listen(
      (events, revision) => {
        const changes: MembershipChange[] = [];
        for (const event of events) {
          if (event.table === "membership" && event.change.group === group)
            changes.push(event.change);
        }
        if (changes.length > 0) enqueue(changes, revision);
      },
      // A snapshot replaced the state: the changes in it are unknown, so send the members as they now are.
      () => enqueue([], this.deps.feed.revision),
    );
    try {
      const members = this.platform.listMembers(group).map(memberToProto);
      // The first response confirms the watch: the members and revision it starts from.
      await context.write({ header: currentHeader(this.deps), changes: [], members });
      for (;;) {
        const response = queue.shift();
        if (response !== undefined) {
          await context.write(response);
          continue;
        }
        await new Promise<void>((resolve, reject) => {
          const onAbort = (): void => reject(context.signal.reason);
          if (context.signal.aborted) return onAbort();
          wake = () => {
            wake = null;
            context.signal.removeEventListener("abort", onAbort);
            resolve();
          };
          context.signal.addEventListener("abort", onAbort, { once: true });
        });
      }
    } finally {
      stop();
    }
  }
}

export function registerMembershipService(
  server: Server,
  deps: PlatformDeps & { readonly streams: PlatformStreams },
): void {
  const handlers = new MembershipHandlers(deps);
  addTypedService(server, MEMBERSHIP_SERVICE, {
    Join: authedUnary(deps, (r, c) => handlers.join(r, c)),
    Leave: authedUnary(deps, (r, c) => handlers.leave(r, c)),
    List: authedUnary(deps, (r, c) => handlers.list(r, c)),
    Locate: authedUnary(deps, (r, c) => handlers.locate(r, c)),
    Watch: authedStream(deps, (r, c) => handlers.watch(r, c)),
  });
}
