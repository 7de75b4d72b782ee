// Publishes this member's name and client URLs through Raft once a leader is
// known, so every member's MemberList can name it (etcd publishes member
// attributes the same way at start). Retries until the replicated attributes
// match, with a bounded number of attempts per leader.
import type { Logger } from "./logger.js";
import type { RaftNode } from "./raft-node.js";

const ATTEMPTS_PER_LEADER_MAX = 20;
const RETRY_DELAY_MS = 500;

export class AttributePublisher {
  private publishing = false;
  private stopped = false;

  constructor(
    private readonly node: RaftNode,
    private readonly name: string,
    private readonly clientUrls: readonly string[],
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.node.onLeadership((state) => {
      if (state.leader !== 0) void this.publish();
    });
    if (this.node.leaderId !== 0) void this.publish();
  }

  stop(): void {
    this.stopped = true;
  }

  private published(): boolean {
    const current = this.node.stateMachine.memberAttributes.get(this.node.id);
    return (
      current !== undefined &&
      current.name === this.name &&
      current.clientUrls.join() === this.clientUrls.join()
    );
  }

  private async publish(): Promise<void> {
    if (this.publishing) return;
    this.publishing = true;
    try {
      for (
        let attempt = 0;
        attempt < ATTEMPTS_PER_LEADER_MAX && !this.stopped && !this.published();
        attempt++
      ) {
        try {
          await this.node.propose({
            kind: "member-attributes",
            memberId: this.node.id,
            name: this.name,
            clientUrls: this.clientUrls,
          });
        } catch (error) {
          this.logger.debug(
            { err: error, attempt },
            "publishing member attributes failed; retrying",
          );
          await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
        }
      }
    } finally {
      this.publishing = false;
    }
  }
}
