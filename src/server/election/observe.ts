// Election.Observe: a server stream of the election's leader — the current one
// first (if any), then every change of leader key or of its value. Fed by the
// member's applied events; a slow client is sent only the latest leader once
// its stream drains, so a stream buffers at most one response beyond the
// socket's high-water mark.
import type { ServerWritableStream } from "@grpc/grpc-js";
import type { v3electionpb } from "../../gen/etcd.js";
import type { KeyValue, WatchEvent } from "../../state/index.js";
import { keyString } from "../../state/index.js";
import { assert } from "../../util/assert.js";
import { CairnError, toServiceError } from "../errors.js";
import { toProtoKv } from "../kv-codec.js";
import type { QueueDeps } from "../lock/queue-claim.js";
import { queuePrefix } from "../lock/queue-keys.js";
import { currentLeader } from "./election-handlers.js";

/** Observe streams one member serves at once. */
export const OBSERVERS_MAX = 10_000;

type ObserveCall = ServerWritableStream<
  v3electionpb.LeaderRequest,
  v3electionpb.LeaderResponse.$Properties
>;

interface Observer {
  /** The election prefix as a latin1 string, to match event keys against. */
  readonly prefix: string;
  refresh(): void;
}

/** Pure: whether the leader shown to an observer differs from the one it last saw. */
export function leaderChanged(
  last: { key: string; modRevision: number } | null,
  now: KeyValue | undefined,
): boolean {
  if (now === undefined) return false;
  return last === null || last.key !== keyString(now.key) || last.modRevision !== now.modRevision;
}

export class ObserveHub {
  private readonly observers = new Set<Observer>();

  get size(): number {
    return this.observers.size;
  }

  /** Feed from RaftNode.onApplied: refreshes the observers whose prefix an event touched. */
  onApplied(events: readonly WatchEvent[]): void {
    if (this.observers.size === 0) return;
    const keys = events.map((event) => keyString(event.kv.key));
    for (const observer of [...this.observers]) {
      if (keys.some((key) => key.startsWith(observer.prefix))) observer.refresh();
    }
  }

  /** Serves one Observe call until the client goes away. */
  async serve(call: ObserveCall, deps: Pick<QueueDeps, "node" | "headers">): Promise<void> {
    if (this.observers.size >= OBSERVERS_MAX) {
      call.emit("error", toServiceError(new CairnError("TOO_MANY_REQUESTS")));
      return;
    }
    // etcd's first answer is a linearizable read of the leader.
    await deps.node.linearizableBarrier();
    if (call.cancelled) return;
    const name = call.request.name;
    let last: { key: string; modRevision: number } | null = null;
    let writeBlocked = false;
    const observer: Observer = {
      prefix: keyString(queuePrefix(name)),
      refresh: () => {
        const leader = currentLeader(deps, name);
        if (leader === undefined) last = null;
        if (writeBlocked || !leaderChanged(last, leader)) return;
        assert(leader !== undefined, "a changed leader exists");
        last = { key: keyString(leader.key), modRevision: leader.modRevision };
        const header = deps.headers.header(deps.node.stateMachine.kv.revision);
        writeBlocked = !call.write({ header, kv: toProtoKv(leader) });
      },
    };
    call.on("drain", () => {
      writeBlocked = false;
      observer.refresh();
    });
    call.on("cancelled", () => this.observers.delete(observer));
    this.observers.add(observer);
    observer.refresh();
  }
}
