// The handoff a stopping leader makes before it goes (etcd does the same on
// a graceful stop): leadership moves to the most caught-up voter in one round
// trip, instead of the cluster noticing the silence an election timeout later
// and electing someone with requests failing meanwhile.
import type { Logger } from "./logger.js";
import type { RaftNode } from "./raft-node.js";

export type HandoffOutcome = "not-leader" | "no-successor" | "handed-off" | "failed";

/** Moves leadership away if this member leads; never throws, bounded by `timeoutMs`. */
export async function handOffLeadership(
  node: RaftNode,
  timeoutMs: number,
  logger: Logger,
): Promise<HandoffOutcome> {
  if (!node.isLeader) return "not-leader";
  const successor = node.chooseSuccessor();
  if (successor === null) {
    if (node.status().progress.size > 0) {
      logger.warn("stopping leader: no voter was heard from recently; stopping without a handoff");
    }
    return "no-successor";
  }
  const started = performance.now();
  try {
    await node.transferLeadership(successor, timeoutMs);
    const tookMs = Math.round(performance.now() - started);
    logger.info({ successor: node.memberName(successor), tookMs }, "stopping leader: handed off");
    return "handed-off";
  } catch (error) {
    logger.warn(
      // An expected outcome (e.g. the whole cluster stopping at once): the reason, no stack.
      {
        successor: node.memberName(successor),
        reason: error instanceof Error ? error.message : String(error),
      },
      "stopping leader: handoff failed; stopping anyway (the others elect a leader)",
    );
    return "failed";
  }
}
