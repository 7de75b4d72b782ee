// An in-process stand-in for RaftNode over the real state machine: propose
// applies at once (with a settable clock), applied events reach listeners
// synchronously as in the real loop, and the barrier resolves immediately.
// Lets the lease, lock and election handlers run without Raft or gRPC.
import type { etcdserverpb } from "../../../src/gen/etcd.js";
import type { HeaderSource, WriteGate } from "../../../src/server/kv-handlers.js";
import { DeleteWaiters } from "../../../src/server/lock/delete-waiters.js";
import type { QueueDeps } from "../../../src/server/lock/queue-claim.js";
import { ownKeyQuery } from "../../../src/server/lock/queue-keys.js";
import type { AppliedListener, RaftNode } from "../../../src/server/raft-node.js";
import {
  type ApplyResult,
  type Command,
  type KeyValue,
  StateMachine,
} from "../../../src/state/index.js";

type Proposal = Parameters<RaftNode["propose"]>[0];

export class FakeMember {
  readonly stateMachine = new StateMachine();
  readonly proposals: Proposal[] = [];
  nowMs = 1_000_000;
  private nextId = 1;
  private readonly listeners: AppliedListener[] = [];

  onApplied(listener: AppliedListener): void {
    this.listeners.push(listener);
  }

  async propose(command: Proposal): Promise<ApplyResult> {
    this.proposals.push(command);
    const full = { ...command, v: 1, id: this.nextId++, at: this.nowMs } as Command;
    const applied = this.stateMachine.apply(full);
    if (applied.events.length > 0) {
      for (const listener of this.listeners)
        listener(applied.events, this.stateMachine.kv.revision);
    }
    return applied.result;
  }

  async linearizableBarrier(): Promise<void> {}

  /** The key's current version, if live. */
  get(key: Uint8Array): KeyValue | undefined {
    const result = this.stateMachine.range(ownKeyQuery(key));
    return result.kind === "range" ? result.ok.kvs[0] : undefined;
  }
}

export const headers: HeaderSource = {
  header: (revision: number): etcdserverpb.ResponseHeader.$Properties => ({ revision }),
};

export const openGate: WriteGate = { admit: () => undefined };

export function queueDeps(member: FakeMember): QueueDeps {
  const deletes = new DeleteWaiters();
  member.onApplied((events) => deletes.onApplied(events));
  return { node: member as unknown as RaftNode, deletes, gate: openGate, headers };
}

export const bytes = (text: string): Uint8Array => Buffer.from(text, "latin1");
export const text = (data: Uint8Array): string => Buffer.from(data).toString("latin1");

/** Lets every pending microtask and promise continuation run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
