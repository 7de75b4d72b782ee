// Leadership transfer as the member's shell sees it: callers waiting for a
// transfer they asked for (MoveLeader, the handoff on SIGTERM), the choice of
// a successor for a stopping leader, and the hold on this member's proposals
// while its core refuses them (transfer under way), so that they go to the
// next leader once it is known instead of failing.
import { type BasicStatus, NO_NODE, type NodeId, type RaftStatus } from "../raft/index.js";
import { CairnError } from "./errors.js";

/** Bound on callers waiting for transfers at once (each holds a timer). */
export const TRANSFER_WAITS_MAX = 64;

interface TransferWait {
  readonly target: NodeId;
  readonly resolve: () => void;
  readonly reject: (error: CairnError) => void;
  readonly timer: NodeJS.Timeout;
  /** The term when the core had the request; 0 until the first observe(). */
  term: number;
}

export class LeaderTransfers {
  private readonly waits = new Set<TransferWait>();
  private holding = false;

  /**
   * Resolves once `target` leads. Rejects with etcd's "leader transfer took
   * too long" after `timeoutMs`, or as soon as the transfer cannot end that
   * way: the core gave it up (one election timeout without success), this
   * member stepped down without an election (check-quorum), another member
   * took over, or the target's connection went down. The request itself must
   * reach the core before the next observe().
   */
  wait(target: NodeId, timeoutMs: number): Promise<void> {
    if (this.waits.size >= TRANSFER_WAITS_MAX) {
      return Promise.reject(new CairnError("TOO_MANY_REQUESTS"));
    }
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.settle(wait, timedOut()), timeoutMs);
      const wait: TransferWait = { target, resolve, reject, timer, term: 0 };
      this.waits.add(wait);
    });
  }

  /**
   * True while new proposals must stay queued in the shell: the core refuses
   * them during a transfer, and right after a successful one this member
   * knows no leader to forward them to until the new one speaks.
   */
  get holdsProposals(): boolean {
    return this.holding;
  }

  /** Called after every batch of input stepped into the core. */
  observe(status: BasicStatus): void {
    if (status.leadTransferee !== NO_NODE) {
      this.holding = true;
    } else if (this.holding && !(status.role === "follower" && status.leader === NO_NODE)) {
      // A leader again (transfer abandoned), a follower of the new leader, or
      // campaigning: the core takes proposals or refuses them for good reason.
      this.holding = false;
    }
    for (const wait of this.waits) {
      if (wait.term === 0) wait.term = status.term;
      if (status.leader === wait.target) {
        this.settle(wait, null);
      } else if (abandoned(status, wait)) {
        this.settle(wait, timedOut());
      }
    }
  }

  /**
   * The transport lost its connection to `peer`. A target going away (it is
   * stopping too, as when a whole cluster is stopped at once) will not take
   * over: fail now rather than after the core's election timeout.
   */
  peerDown(peer: NodeId): void {
    for (const wait of this.waits) {
      if (wait.target === peer) this.settle(wait, timedOut());
    }
  }

  failAll(error: CairnError): void {
    for (const wait of this.waits) this.settle(wait, error);
    this.holding = false;
  }

  private settle(wait: TransferWait, error: CairnError | null): void {
    if (!this.waits.delete(wait)) return;
    clearTimeout(wait.timer);
    if (error === null) wait.resolve();
    else wait.reject(error);
  }
}

function timedOut(): CairnError {
  return new CairnError("LEADER_TRANSFER_TIMEOUT");
}

/** Nothing will make the target the leader any more, short of a new request. */
function abandoned(status: BasicStatus, wait: TransferWait): boolean {
  if (status.role === "leader") return status.leadTransferee !== wait.target;
  if (status.leader !== NO_NODE) return status.leader !== wait.target;
  // Leaderless in the same term: we stepped down, nobody campaigned for the
  // next term (the target would have, on MsgTimeoutNow).
  return status.term === wait.term;
}

/**
 * The voter a stopping leader should hand over to: the one with the longest
 * log among those heard from within the last election timeout (a silent one
 * could not take over in time), then the most recently heard from. Null if
 * none qualifies or this member does not lead.
 */
export function chooseSuccessor(status: RaftStatus, electionTicks: number): NodeId | null {
  if (status.role !== "leader") return null;
  let best: { id: NodeId; match: number; ticks: number } | null = null;
  for (const peer of status.progress.values()) {
    if (peer.ticksSinceHeardFrom >= electionTicks) continue;
    const better =
      best === null ||
      peer.match > best.match ||
      (peer.match === best.match && peer.ticksSinceHeardFrom < best.ticks);
    if (better) best = { id: peer.id, match: peer.match, ticks: peer.ticksSinceHeardFrom };
  }
  return best?.id ?? null;
}
