// Moving leadership from a client, etcdctl move-leader's recipe: ask every
// endpoint for its status to find the one that leads, resolve the target (a
// member name or hex id) against the members the leader knows, and call
// Maintenance.MoveLeader on the leader itself, the only member that accepts
// it. If leadership moved in between ("not leader"), look again, a bounded
// number of times within the call's budget.
import type { cairn } from "../gen/cairn.js";
import {
  isStatusLike,
  LeaderNotFoundError,
  type MemberRef,
  throwIfAborted,
  UnknownMemberError,
} from "./errors.js";
import { type CallOptions, type Invoker, sleepMs } from "./invoker.js";
import { MAINTENANCE_MOVE_LEADER } from "./methods.js";

type NodeStatus = cairn.v1.NodeStatusResponse;

export interface LeaderMove {
  /** The member that led when the call started. */
  readonly from: MemberRef;
  /** The member that leads now (the target; equal to `from` if it led already). */
  readonly to: MemberRef;
  /** The Raft term `to` leads in. */
  readonly term: number;
}

/** Rounds of find-the-leader-then-ask: follows a leader that moves meanwhile, but not forever. */
export const MOVE_ROUNDS_MAX = 5;

const NOT_LEADER = "etcdserver: not leader";
const HEX_ID = /^(0x)?[0-9a-f]{1,16}$/i;

export type StatusOf = (endpoint: number, options: CallOptions) => Promise<NodeStatus>;

interface LeaderSearch {
  readonly leader: { readonly endpoint: number; readonly status: NodeStatus } | null;
  /** The leader most endpoints name, when none of them is it. */
  readonly reported: string | null;
}

export async function moveLeader(
  invoker: Invoker,
  statusOf: StatusOf,
  target: string | number,
  options: CallOptions = {},
): Promise<LeaderMove> {
  const deadline = Date.now() + (options.timeoutMs ?? invoker.callTimeoutMs);
  const remainingMs = (): number => Math.max(1, deadline - Date.now());
  let lastError: unknown = null;
  for (let round = 1; ; round++) {
    throwIfAborted(options.signal);
    const search = await findLeader(invoker, statusOf, remainingMs(), options.signal);
    if (search.leader !== null) {
      const { endpoint, status } = search.leader;
      const from = { id: status.id, name: status.name };
      const to = resolveTarget(target, membersOf(status));
      if (to.id === from.id) return { from, to, term: status.term };
      try {
        const response = await invoker.unary(
          MAINTENANCE_MOVE_LEADER,
          { targetID: to.id },
          {
            ...options,
            timeoutMs: remainingMs(),
            endpoint,
            attemptsMax: 1,
            // Moving leadership to X twice is moving it once.
            safety: "idempotent",
          },
        );
        return { from, to, term: response.header?.raftTerm ?? status.term };
      } catch (error) {
        if (!(isStatusLike(error) && error.details === NOT_LEADER)) throw error;
        lastError = error; // Leadership moved since the status: look again.
      }
    } else {
      lastError = new LeaderNotFoundError(invoker.transport.endpoints, search.reported);
    }
    if (round >= MOVE_ROUNDS_MAX || Date.now() >= deadline) throw lastError;
    await sleepMs(Math.min(invoker.backoffBeforeAttempt(round), remainingMs()), options.signal);
  }
}

async function findLeader(
  invoker: Invoker,
  statusOf: StatusOf,
  budgetMs: number,
  signal: AbortSignal | undefined,
): Promise<LeaderSearch> {
  const timeoutMs = Math.min(budgetMs, invoker.attemptTimeoutMs);
  const statuses = await Promise.all(
    invoker.transport.endpoints.map((_, endpoint) =>
      statusOf(endpoint, { timeoutMs, ...(signal === undefined ? {} : { signal }) }).then(
        (status) => ({ endpoint, status }),
        () => null,
      ),
    ),
  );
  let leader: LeaderSearch["leader"] = null;
  const named = new Map<string, number>();
  for (const answer of statuses) {
    if (answer === null) continue;
    const { status } = answer;
    // Two members may both think they lead for a moment: the newer term is right.
    if (status.role === "leader" && (leader === null || status.term > leader.status.term)) {
      leader = answer;
    }
    if (status.leaderName !== "") {
      named.set(status.leaderName, (named.get(status.leaderName) ?? 0) + 1);
    }
  }
  const reported = [...named].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
  return { leader, reported };
}

function membersOf(status: NodeStatus): MemberRef[] {
  return [
    { id: status.id, name: status.name },
    ...status.peers.map((p) => ({ id: p.id ?? 0, name: p.name ?? "" })),
  ].sort((a, b) => a.name.localeCompare(b.name));
}

/** A member by name first, then by id (a number, or hex as etcd prints ids). */
export function resolveTarget(target: string | number, members: readonly MemberRef[]): MemberRef {
  if (typeof target === "string") {
    const byName = members.find((m) => m.name === target);
    if (byName !== undefined) return byName;
  }
  const text = typeof target === "number" ? target.toString(16) : target.trim();
  const id =
    typeof target === "number" ? target : HEX_ID.test(text) ? Number.parseInt(text, 16) : NaN;
  const byId = members.find((m) => m.id === id);
  if (byId === undefined) throw new UnknownMemberError(text, members);
  return byId;
}
