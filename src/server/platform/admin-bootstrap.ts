// --admin-password / CAIRN_ADMIN_PASSWORD: when the cluster has no users yet,
// the leader creates the platform user `admin` with that password. The leader
// tries (after a barrier, so it judges "no users" on current state; a
// follower with the flag tries once too, late, in case the leader lacks it),
// and it asks for the admin role explicitly: if anyone else registered first,
// apply refuses it (roles need an admin) instead of creating a second, weaker
// `admin`. Until it exists, Register on this member waits (UNAVAILABLE).
import { assert } from "../../util/assert.js";
import type { Logger } from "../logger.js";
import type { RaftNode } from "../raft-node.js";
import type { PlatformNode } from "./deps.js";
import type { PasswordHasher } from "./passwords.js";

export const BOOTSTRAP_USERNAME = "admin";
/** A reserved domain (RFC 2606): Register needs an address; the admin can change it. */
export const BOOTSTRAP_EMAIL = "admin@cairn.invalid";
/** Attempts per leadership term; a new leader starts again. */
const BOOTSTRAP_ATTEMPTS_MAX = 5;
const BOOTSTRAP_RETRY_MS = 1000;
/**
 * A follower given the password tries too, once, after this long: the leader
 * may have been started without it, and Register here waits until it exists.
 */
const BOOTSTRAP_FOLLOWER_GRACE_MS = 5000;

export type BootstrapNode = PlatformNode & Pick<RaftNode, "onLeadership" | "isLeader">;

export class AdminBootstrap {
  private running = false;
  private stopped = false;
  private graceTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly node: BootstrapNode,
    private readonly hasher: PasswordHasher,
    private readonly password: string | null,
    private readonly logger: Logger,
  ) {}

  /** True while this member was given a password and the cluster still has no user. */
  get pending(): boolean {
    return this.password !== null && this.node.stateMachine.platform.users.size === 0;
  }

  start(): void {
    if (this.password === null) return;
    this.node.onLeadership((state) => {
      if (state.role === "leader") this.kick(false);
    });
    if (this.node.isLeader) this.kick(false);
    this.graceTimer = setTimeout(() => this.kick(true), BOOTSTRAP_FOLLOWER_GRACE_MS);
    this.graceTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.graceTimer !== null) clearTimeout(this.graceTimer);
  }

  /** anyRole: a follower's late attempt; otherwise only the leader tries. */
  private kick(anyRole: boolean): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.run(anyRole)
      .catch((error: unknown) => this.logger.error({ err: error }, "bootstrap admin failed"))
      .finally(() => {
        this.running = false;
      });
  }

  private async run(anyRole: boolean): Promise<void> {
    for (let attempt = 1; attempt <= BOOTSTRAP_ATTEMPTS_MAX; attempt++) {
      if (this.stopped || !(anyRole || this.node.isLeader)) return;
      try {
        await this.node.linearizableBarrier();
        if (!this.pending) return;
        await this.createAdmin();
        return;
      } catch (error) {
        this.logger.warn({ err: error, attempt }, "bootstrap admin not created yet; retrying");
        await new Promise((resolve) => setTimeout(resolve, BOOTSTRAP_RETRY_MS));
      }
    }
  }

  private async createAdmin(): Promise<void> {
    assert(this.password !== null, "bootstrap without a password");
    const password = await this.hasher.hash(this.password);
    const result = await this.node.propose({
      kind: "user-register",
      actor: "",
      username: BOOTSTRAP_USERNAME,
      email: BOOTSTRAP_EMAIL,
      phone: "",
      roles: ["admin"],
      password,
    });
    if (result.kind === "user-register") {
      this.logger.info({ username: BOOTSTRAP_USERNAME }, "created the bootstrap admin");
      return;
    }
    // Someone registered first: the cluster has its first admin, and it is not ours to replace.
    this.logger.warn(
      { result: result.kind === "platform-error" ? result.message : result.kind },
      "bootstrap admin not created: the cluster already has users",
    );
  }
}
