// What the cairn.v1 services share: the member (propose, barrier, applied
// state, the platform feed), the response header, the write gate (quota
// alarm), the authenticator and the password hasher.
import type { cairn } from "../../gen/cairn.js";
import type { HeaderSource, WriteGate } from "../kv-handlers.js";
import type { RaftNode } from "../raft-node.js";
import type { PasswordHasher } from "./passwords.js";
import type { CallDeps } from "./platform-call.js";
import type { PlatformFeed } from "./platform-events.js";

/** The slice of RaftNode the platform services use. */
export type PlatformNode = Pick<
  RaftNode,
  | "propose"
  | "linearizableBarrier"
  | "stateMachine"
  | "leaderId"
  | "onPlatformApplied"
  | "onStateReplaced"
>;

export interface PlatformDeps extends CallDeps {
  readonly node: PlatformNode;
  readonly headers: HeaderSource;
  readonly gate: WriteGate;
  readonly feed: PlatformFeed;
  readonly hasher: PasswordHasher;
  /** The lease TTL floor, ceil(1.5 × election timeout) s, for locks and members granted a lease. */
  readonly leaseTtlMinSeconds: number;
}

export function header(
  deps: Pick<PlatformDeps, "headers">,
  revision: number,
): cairn.v1.Header.$Properties {
  return deps.headers.header(revision);
}

/** The header of a read answered from this member's applied state. */
export function currentHeader(
  deps: Pick<PlatformDeps, "headers" | "node">,
): cairn.v1.Header.$Properties {
  return deps.headers.header(deps.node.stateMachine.kv.revision);
}
