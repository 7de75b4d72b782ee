// The queue protocol shared by Lock and Campaign: claim a place with one Txn,
// wait on the local applied state until the claim is the oldest key under the
// prefix, then confirm — behind a linearizable barrier — that the claim's key
// still exists (etcd 3.5's fix #11408: a waiter whose lease died while it
// waited must not be told it holds the lock). A claim's create revision is its
// place in the queue and the holder's fencing token.
import type { PutOp, RangeAnswer, TxnResult } from "../../state/index.js";
import { assert, assertNever } from "../../util/assert.js";
import { type HeaderSource, throwApplyError, type WriteGate } from "../kv-handlers.js";
import type { RaftNode } from "../raft-node.js";
import type { DeleteWaiters } from "./delete-waiters.js";
import {
  ownerQuery,
  ownKeyQuery,
  predecessorQuery,
  type QueueTurn,
  queueKey,
  queuePrefix,
  queueTurn,
} from "./queue-keys.js";

/** TTL of the lease etcd's recipes grant when a request names lease 0 (concurrency's session default). */
export const SESSION_TTL_SECONDS = 60;

const EMPTY = new Uint8Array(0);

export interface QueueDeps {
  readonly node: Pick<RaftNode, "propose" | "linearizableBarrier" | "stateMachine">;
  readonly deletes: DeleteWaiters;
  readonly gate: WriteGate;
  readonly headers: HeaderSource;
}

export interface Claim {
  readonly prefix: Uint8Array;
  readonly key: Uint8Array;
  readonly leaseId: number;
  /** The key's create revision: the claim's place in the queue and its fencing token. */
  readonly createRevision: number;
  /** False when the key already existed (a re-claim with the same lease). */
  readonly created: boolean;
  /** The key's value as the claim found it (the value written, when it created the key). */
  readonly value: Uint8Array;
  /** True when the claim was the oldest key right after the txn: no waiting needed. */
  readonly owner: boolean;
  /** Store revision after the txn. */
  readonly revision: number;
}

/** Lease 0 means "no session given": etcd's recipes then grant a fresh lease of SESSION_TTL_SECONDS. */
export async function sessionLease(deps: QueueDeps, leaseId: number): Promise<number> {
  if (leaseId !== 0) return leaseId;
  deps.gate.admit("write");
  const result = await deps.node.propose({
    kind: "lease-grant",
    leaseId: 0,
    ttlSeconds: SESSION_TTL_SECONDS,
  });
  if (result.kind !== "lease-grant") throwApplyError(result);
  return result.ok.id;
}

function rangeOf(result: TxnResult, index: number): RangeAnswer {
  const response = result.responses[index];
  assert(response?.kind === "range", `claim txn response ${index} must be a range`);
  return response.ok;
}

/**
 * One Txn, as etcd's Mutex/Election: if the key was never created, put it
 * with the lease; either way read the key and the queue's oldest key.
 */
export async function claimQueue(
  deps: QueueDeps,
  name: Uint8Array,
  leaseId: number,
  value: Uint8Array,
): Promise<Claim> {
  const prefix = queuePrefix(name);
  const key = queueKey(name, leaseId);
  const put: PutOp = {
    kind: "put",
    key,
    value,
    lease: leaseId,
    prevKv: false,
    ignoreValue: false,
    ignoreLease: false,
  };
  deps.gate.admit("write");
  const result = await deps.node.propose({
    kind: "txn",
    compare: [
      { key, rangeEnd: EMPTY, target: "create", result: "equal", operand: 0, value: EMPTY },
    ],
    success: [put, { kind: "range", ...ownerQuery(prefix) }],
    failure: [
      { kind: "range", ...ownKeyQuery(key) },
      { kind: "range", ...ownerQuery(prefix) },
    ],
  });
  if (result.kind !== "txn") throwApplyError(result);
  const txn = result.ok;
  const existing = txn.succeeded ? undefined : rangeOf(txn, 0).kvs[0];
  assert(txn.succeeded || existing !== undefined, "a failed create compare means the key exists");
  const createRevision = existing?.createRevision ?? txn.revision;
  const oldest = rangeOf(txn, 1).kvs[0];
  return {
    prefix,
    key,
    leaseId,
    createRevision,
    created: txn.succeeded,
    value: existing?.value ?? value,
    owner: oldest === undefined || oldest.createRevision === createRevision,
    revision: txn.revision,
  };
}

/** Reads this member's applied state: where the claim stands now. */
export function readTurn(deps: QueueDeps, claim: Claim): QueueTurn {
  const machine = deps.node.stateMachine;
  const own = machine.range(ownKeyQuery(claim.key));
  const before = machine.range(predecessorQuery(claim.prefix, claim.createRevision));
  assert(own.kind === "range" && before.kind === "range", "current-revision reads cannot fail");
  return queueTurn(claim.createRevision, own.ok.kvs[0], before.ok.kvs[0]);
}

/**
 * Waits until the claim holds the queue; resolves with the store revision at
 * which that was confirmed. Rejects with `lost()` when the claim's key is
 * gone, or with the signal's reason. Each wake-up follows the delete of a key
 * created before the claim (or of the claim itself), and no such key can be
 * created later, so the loop runs at most (waiters ahead + 2) times.
 */
export async function waitForTurn(
  deps: QueueDeps,
  claim: Claim,
  signal: AbortSignal,
  lost: () => Error,
): Promise<number> {
  for (;;) {
    const turn = readTurn(deps, claim);
    switch (turn.kind) {
      case "lost":
        throw lost();
      case "wait":
        await deps.deletes.waitForDelete([turn.predecessor, claim.key], signal);
        break;
      case "owner": {
        await deps.node.linearizableBarrier();
        signal.throwIfAborted();
        const confirmed = readTurn(deps, claim);
        assert(confirmed.kind !== "wait", "no key older than a claim can appear after it");
        if (confirmed.kind === "lost") throw lost();
        return deps.node.stateMachine.kv.revision;
      }
      default:
        return assertNever(turn, "queue turn");
    }
  }
}

/** Leaves the queue: deletes the claim's key only if it is still this claim's (same create revision). */
export async function releaseClaim(
  deps: QueueDeps,
  claim: Pick<Claim, "key" | "createRevision">,
): Promise<TxnResult> {
  deps.gate.admit("delete");
  const result = await deps.node.propose({
    kind: "txn",
    compare: [
      {
        key: claim.key,
        rangeEnd: EMPTY,
        target: "create",
        result: "equal",
        operand: claim.createRevision,
        value: EMPTY,
      },
    ],
    success: [{ kind: "delete-range", key: claim.key, rangeEnd: EMPTY, prevKv: false }],
    failure: [],
  });
  if (result.kind !== "txn") throwApplyError(result);
  return result.ok;
}

/**
 * Runs a wait; if it fails (cancelled, deadline, no leader, lost) a claim this
 * call created is withdrawn, as etcd's Mutex and Election do: an abandoned key
 * would otherwise reach the head of the queue and block every later waiter
 * until its lease expired. A key that was already there (a re-claim with the
 * same lease) belongs to an earlier call and is left alone. The withdrawal is
 * guarded by the create revision, so it never deletes a newer incarnation.
 */
export async function withdrawOnFailure<T>(
  deps: QueueDeps,
  claim: Claim,
  wait: () => Promise<T>,
): Promise<T> {
  try {
    return await wait();
  } catch (error) {
    if (claim.created) {
      // Best effort: the original failure is what the caller must see.
      await releaseClaim(deps, claim).catch(() => undefined);
    }
    throw error;
  }
}

/**
 * The whole wait of a Lock or Campaign after its claim: immediate when the
 * claim already holds the queue (unless the call was cancelled meanwhile, in
 * which case nobody would learn it holds), otherwise waitForTurn; a claim
 * this call created is withdrawn on any failure.
 */
export function holdQueue(
  deps: QueueDeps,
  claim: Claim,
  signal: AbortSignal,
  lost: () => Error,
): Promise<number> {
  return withdrawOnFailure(deps, claim, async () => {
    if (!claim.owner) return waitForTurn(deps, claim, signal, lost);
    signal.throwIfAborted();
    return claim.revision;
  });
}
