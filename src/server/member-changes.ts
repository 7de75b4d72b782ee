// How a membership change recorded by the state machine maps onto the Raft
// core's configuration change: a promotion is the learner being added as a
// voter, and an update (new peer URLs) leaves the voter sets alone.
import type { ConfChange } from "../raft/conf-change.js";
import type { NodeId } from "../raft/types.js";
import type { ClusterChangeKind } from "../state/cluster-members.js";

export function toConfChange(change: ClusterChangeKind, memberId: NodeId): ConfChange {
  switch (change) {
    case "add-voter":
    case "promote":
      return { type: "add-voter", nodeId: memberId };
    case "add-learner":
      return { type: "add-learner", nodeId: memberId };
    case "remove":
      return { type: "remove", nodeId: memberId };
    case "update":
      return { type: "update", nodeId: memberId };
    default: {
      const never: never = change;
      throw new Error(`unknown membership change ${String(never)}`);
    }
  }
}
