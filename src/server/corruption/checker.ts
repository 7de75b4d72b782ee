// etcd's periodic corruption check (--experimental-corrupt-check-time), run by
// the leader every --corrupt-check-interval: it compares its HashKV at its
// current revision with every peer's HashKV at that revision, and its digest
// of the non-KV tables with theirs at a digest checkpoint it proposes (see
// state/state-digest.ts). A member whose answer differs from the cluster's
// (compare.ts) gets the replicated CORRUPT alarm, which refuses writes on
// every member until an operator has repaired it and disarmed the alarm.
import { randomInt } from "node:crypto";
import type { NodeId } from "../../raft/types.js";
import { differingTables } from "../../state/state-digest.js";
import type { Logger } from "../logger.js";
import type { RaftNode } from "../raft-node.js";
import {
  type DigestAnswer,
  digestSamples,
  judge,
  type KvHashAnswer,
  kvSamples,
  type Verdict,
} from "./compare.js";
import type { PeerQueries } from "./peer-queries.js";

/** Checkpoint names: random, below 2^48 so they stay exact in JS numbers and uint64 fields. */
const CHECKPOINT_ID_MAX = 2 ** 48;

export type CheckedNode = Pick<RaftNode, "id" | "isLeader" | "stateMachine" | "propose">;

export interface CheckerOptions {
  readonly node: CheckedNode;
  readonly peers: PeerQueries;
  /** Every voter, this member included: id → name (for logs). */
  readonly members: ReadonlyMap<NodeId, { readonly name: string }>;
  /** 0 = off. */
  readonly intervalMs: number;
  readonly logger: Logger;
}

/** What one round found: per check the verdict (or why it was skipped), and the alarms raised. */
export interface CheckReport {
  readonly kv:
    | { readonly revision: number; readonly answered: number; readonly verdict: Verdict }
    | { readonly skipped: string };
  readonly digest:
    | { readonly checkpoint: number; readonly answered: number; readonly verdict: Verdict }
    | { readonly skipped: string };
  readonly alarmed: readonly NodeId[];
}

const NOT_LEADER: CheckReport = {
  kv: { skipped: "not the leader" },
  digest: { skipped: "not the leader" },
  alarmed: [],
};

export class CorruptionChecker {
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(private readonly options: CheckerOptions) {}

  start(): void {
    if (this.options.intervalMs === 0) return;
    this.timer = setInterval(() => {
      if (this.running || !this.options.node.isLeader) return;
      this.checkOnce().catch((error: unknown) =>
        this.options.logger.warn({ err: error }, "corruption check failed; retrying next interval"),
      );
    }, this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.options.peers.close();
  }

  /** One round; only the leader checks. Overlapping rounds are not started by the timer. */
  async checkOnce(): Promise<CheckReport> {
    if (!this.options.node.isLeader) return NOT_LEADER;
    this.running = true;
    try {
      const kv = await this.checkKv();
      const digest = await this.checkDigest();
      const corrupt = new Set<NodeId>();
      if ("verdict" in kv) for (const id of kv.verdict.corrupt) corrupt.add(id);
      if ("verdict" in digest) for (const id of digest.verdict.corrupt) corrupt.add(id);
      const alarmed = await this.raiseAlarms([...corrupt].sort((a, b) => a - b));
      this.options.logger.debug({ kv, digest }, "corruption check round done");
      return { kv, digest, alarmed };
    } finally {
      this.running = false;
    }
  }

  private peerIds(): NodeId[] {
    return [...this.options.members.keys()].filter((id) => id !== this.options.node.id);
  }

  private async checkKv(): Promise<CheckReport["kv"]> {
    const { node, peers } = this.options;
    const revision = node.stateMachine.kv.revision;
    // etcd's HashKV refuses the compact revision itself: right after a
    // compaction at the head there is no revision every member can hash.
    if (revision <= node.stateMachine.kv.compactRevision) {
      return { skipped: `revision ${revision} is compacted; waiting for a write` };
    }
    const own = node.stateMachine.hashKv(revision);
    if (own.kind !== "hash") return { skipped: `own HashKV failed: ${own.code}` };
    const leader: KvHashAnswer = {
      memberId: node.id,
      hash: own.hash,
      compactRevision: own.compactRevision,
    };
    const answers = await Promise.all(this.peerIds().map((id) => peers.hashKv(id, revision)));
    const answered = answers.filter((a): a is KvHashAnswer => a !== null);
    const verdict = judge(node.id, this.options.members.size, kvSamples(leader, answered));
    for (const id of verdict.corrupt) {
      this.options.logger.error(
        {
          member: this.nameOf(id),
          memberId: id,
          revision,
          hashes: [leader, ...answered].map((a) => ({ member: this.nameOf(a.memberId), ...a })),
          inconclusive: verdict.inconclusive,
        },
        "corruption check: the member's HashKV differs from the cluster's at the same revision",
      );
    }
    return { revision, answered: answered.length, verdict };
  }

  private async checkDigest(): Promise<CheckReport["digest"]> {
    const { node, peers } = this.options;
    const checkpoint = randomInt(1, CHECKPOINT_ID_MAX);
    let result: Awaited<ReturnType<CheckedNode["propose"]>>;
    try {
      result = await node.propose({ kind: "digest-checkpoint", checkpoint });
    } catch (error) {
      return { skipped: `checkpoint proposal failed: ${(error as Error).message}` };
    }
    if (result.kind !== "digest-checkpoint") {
      return { skipped: `checkpoint proposal answered ${result.kind}` };
    }
    const own: DigestAnswer = {
      memberId: node.id,
      revision: result.ok.revision,
      state: result.ok.state,
    };
    const answers = await Promise.all(
      this.peerIds().map((id) => peers.stateDigest(id, checkpoint)),
    );
    const all = [own, ...answers.filter((a): a is DigestAnswer => a !== null)];
    const verdict = judge(node.id, this.options.members.size, digestSamples(all));
    const trusted = all.find((a) => !verdict.corrupt.includes(a.memberId)) ?? own;
    for (const id of verdict.corrupt) {
      const answer = all.find((a) => a.memberId === id) as DigestAnswer;
      this.options.logger.error(
        {
          member: this.nameOf(id),
          memberId: id,
          checkpoint,
          revision: answer.revision,
          trustedRevision: trusted.revision,
          tables: differingTables(trusted.state, answer.state),
          inconclusive: verdict.inconclusive,
        },
        "corruption check: the member's tables differ from the cluster's at the same log entry",
      );
    }
    return { checkpoint, answered: all.length - 1, verdict };
  }

  private async raiseAlarms(corrupt: readonly NodeId[]): Promise<NodeId[]> {
    const raised: NodeId[] = [];
    const { node } = this.options;
    for (const memberId of corrupt) {
      const active = node.stateMachine.alarms
        .list()
        .some((a) => a.memberId === memberId && a.alarm === "corrupt");
      if (active) continue;
      this.options.logger.error(
        { member: this.nameOf(memberId), memberId },
        "raising the CORRUPT alarm: writes are refused until the member is repaired and the alarm disarmed",
      );
      await node.propose({ kind: "alarm", action: "activate", memberId, alarm: "corrupt" });
      raised.push(memberId);
    }
    return raised;
  }

  private nameOf(id: NodeId): string {
    return this.options.members.get(id)?.name ?? String(id);
  }
}
