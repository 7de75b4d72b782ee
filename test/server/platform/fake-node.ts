// An in-process stand-in for RaftNode under the cairn.v1 handlers: the real
// state machine, propose applying at once with a settable clock, platform
// events published to listeners as the node does (optionally held back, to
// model the gap between apply and publish), and a counting no-op barrier.
import { Metadata } from "@grpc/grpc-js";
import type { etcdserverpb } from "../../../src/gen/etcd.js";
import { Authenticator } from "../../../src/server/platform/auth.js";
import type { PlatformDeps, PlatformNode } from "../../../src/server/platform/deps.js";
import { PasswordHasher } from "../../../src/server/platform/passwords.js";
import type { CallContext } from "../../../src/server/platform/platform-call.js";
import { PlatformFeed } from "../../../src/server/platform/platform-events.js";
import { PlatformStreams } from "../../../src/server/platform/platform-stream.js";
import type { PlatformAppliedListener, RaftNode } from "../../../src/server/raft-node.js";
import {
  type ApplyResult,
  type Command,
  type PlatformEvent,
  type Role,
  StateMachine,
  tokenDigest,
} from "../../../src/state/index.js";

type Proposal = Parameters<RaftNode["propose"]>[0];

export class FakePlatformNode {
  stateMachine = new StateMachine();
  readonly proposals: Proposal[] = [];
  nowMs = 1_700_000_000_000;
  leaderId = 1;
  barriers = 0;
  /** While true, applied platform events wait for publishHeld() (apply → disk → publish). */
  holdPublish = false;
  private held: PlatformEvent[] = [];
  private nextId = 1;
  private readonly listeners: PlatformAppliedListener[] = [];
  private readonly replacedListeners: (() => void)[] = [];

  onPlatformApplied(listener: PlatformAppliedListener): void {
    this.listeners.push(listener);
  }

  onStateReplaced(listener: () => void): void {
    this.replacedListeners.push(listener);
  }

  /** As a follower installing a snapshot: the whole state is swapped, nothing published. */
  replaceState(machine: StateMachine): void {
    this.stateMachine = machine;
    this.held = [];
    for (const listener of this.replacedListeners) listener();
  }

  async propose(command: Proposal): Promise<ApplyResult> {
    this.proposals.push(command);
    const full = { ...command, v: 1, id: this.nextId++, at: this.nowMs } as Command;
    const applied = this.stateMachine.apply(full);
    if (applied.platform !== undefined) {
      this.held.push(...applied.platform);
      if (!this.holdPublish) this.publishHeld();
    }
    return applied.result;
  }

  publishHeld(): void {
    const events = this.held;
    this.held = [];
    if (events.length === 0) return;
    for (const listener of this.listeners) listener(events, this.stateMachine.kv.revision);
  }

  async linearizableBarrier(): Promise<void> {
    this.barriers++;
  }

  asNode(): PlatformNode {
    return this as unknown as PlatformNode;
  }
}

export const headers = {
  header: (revision: number): etcdserverpb.ResponseHeader.$Properties => ({ revision }),
};

export type TestDeps = PlatformDeps & { readonly streams: PlatformStreams };

export function platformDeps(node: FakePlatformNode): TestDeps {
  return {
    node: node.asNode(),
    headers,
    gate: { admit: () => undefined },
    feed: new PlatformFeed(node.asNode()),
    hasher: new PasswordHasher(),
    auth: new Authenticator(node.asNode(), () => node.nowMs),
    leaderKnown: () => node.leaderId !== 0,
    leaseTtlMinSeconds: 2,
    streams: new PlatformStreams(),
  };
}

const FAKE_PASSWORD = { salt: new Uint8Array(16).fill(1), hash: new Uint8Array(64).fill(2) };

/**
 * Registers a user and opens a session without scrypt (the hash is a dummy:
 * these users cannot log in by password); returns the bearer token.
 */
export async function seedUser(
  node: FakePlatformNode,
  username: string,
  roles: readonly Role[],
  actor = "",
): Promise<string> {
  const registered = await node.propose({
    kind: "user-register",
    actor,
    username,
    email: `${username}@example.com`,
    phone: "",
    roles,
    password: FAKE_PASSWORD,
  });
  if (registered.kind !== "user-register")
    throw new Error(`seed ${username}: ${JSON.stringify(registered)}`);
  const token = `token-of-${username}`;
  const login = await node.propose({
    kind: "user-login",
    actor: username,
    username,
    userVersion: 1,
    tokenHash: tokenDigest(token),
    ttlMs: 3_600_000,
  });
  if (login.kind !== "user-login") throw new Error(`login ${username}: ${JSON.stringify(login)}`);
  return token;
}

export function withToken(token: string): Metadata {
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  return metadata;
}

/** A call context for `token`, verified like a real call. */
export async function contextFor(
  deps: TestDeps,
  token: string,
  signal: AbortSignal = new AbortController().signal,
): Promise<CallContext> {
  const caller = await deps.auth.authenticate(withToken(token), "linearizable");
  return { caller, signal };
}
