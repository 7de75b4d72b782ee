// Wires etcd's Election service onto the client port: one delete-waiter hub
// for campaigns and one observer hub for Observe, both fed by applied events.
import type { Server } from "@grpc/grpc-js";
import { addTypedService } from "../../transport/grpc-codec.js";
import { toServiceError } from "../errors.js";
import type { HeaderSource, WriteGate } from "../kv-handlers.js";
import { DeleteWaiters } from "../lock/delete-waiters.js";
import { unaryWithSignal } from "../lock/recipe-errors.js";
import type { RaftNode } from "../raft-node.js";
import { ElectionHandlers } from "./election-handlers.js";
import { ELECTION_SERVICE } from "./election-service.js";
import { ObserveHub } from "./observe.js";

export interface ElectionServiceDeps {
  readonly node: RaftNode;
  readonly headers: HeaderSource;
  readonly gate: WriteGate;
}

export function registerElectionService(server: Server, deps: ElectionServiceDeps): void {
  const deletes = new DeleteWaiters();
  const observers = new ObserveHub();
  deps.node.onApplied((events) => {
    deletes.onApplied(events);
    observers.onApplied(events);
  });
  const queue = { ...deps, deletes };
  const handlers = new ElectionHandlers(queue);
  addTypedService(server, ELECTION_SERVICE, {
    Campaign: unaryWithSignal((r, signal) => handlers.campaign(r, signal)),
    Proclaim: unaryWithSignal((r) => handlers.proclaim(r)),
    Leader: unaryWithSignal((r) => handlers.leader(r)),
    Observe: (call) => {
      observers.serve(call, queue).catch((error: unknown) => {
        if (!call.cancelled) call.emit("error", toServiceError(error));
      });
    },
    Resign: unaryWithSignal((r) => handlers.resign(r)),
  });
}
