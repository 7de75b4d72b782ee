// Assembles the cairn.v1 platform API on the client port: the platform feed,
// the authenticator, the password hasher and the five services (Users,
// Resources, OpLog, Locks, Membership), plus the --admin-password bootstrap.
import type { Server } from "@grpc/grpc-js";
import type { HeaderSource, WriteGate } from "../kv-handlers.js";
import { minLeaseTtlSeconds } from "../lease/ttl.js";
import type { Logger } from "../logger.js";
import { AdminBootstrap, type BootstrapNode } from "./admin-bootstrap.js";
import { Authenticator } from "./auth.js";
import type { PlatformDeps } from "./deps.js";
import { registerLocksService } from "./locks.js";
import { registerMembershipService } from "./membership.js";
import { registerOpLogService } from "./oplog.js";
import { PasswordHasher } from "./passwords.js";
import { PlatformFeed } from "./platform-events.js";
import { PlatformStreams } from "./platform-stream.js";
import { registerResourcesService } from "./resources.js";
import { registerUsersService } from "./users.js";

export interface PlatformServiceOptions {
  readonly node: BootstrapNode;
  readonly headers: HeaderSource;
  readonly gate: WriteGate;
  readonly electionTimeoutMs: number;
  readonly adminPassword: string | null;
  readonly logger: Logger;
  /** Test-only planted bug (--unsafe early-lock-grant) for the Locks service. */
  readonly earlyLockGrant?: boolean;
}

export interface PlatformServices {
  readonly feed: PlatformFeed;
  /** Ends every platform stream with "server stopped" and stops the bootstrap. */
  close(): void;
}

export function registerPlatformServices(
  server: Server,
  options: PlatformServiceOptions,
): PlatformServices {
  const { node } = options;
  const feed = new PlatformFeed(node);
  const hasher = new PasswordHasher();
  const streams = new PlatformStreams();
  const deps: PlatformDeps & { readonly streams: PlatformStreams } = {
    node,
    headers: options.headers,
    gate: options.gate,
    feed,
    hasher,
    auth: new Authenticator(node),
    leaderKnown: () => node.leaderId !== 0,
    leaseTtlMinSeconds: minLeaseTtlSeconds(options.electionTimeoutMs),
    streams,
  };
  const bootstrap = new AdminBootstrap(node, hasher, options.adminPassword, options.logger);
  registerUsersService(server, deps, { bootstrapPending: () => bootstrap.pending });
  registerResourcesService(server, deps);
  registerOpLogService(server, deps);
  registerLocksService(server, deps, { earlyGrant: options.earlyLockGrant === true });
  registerMembershipService(server, deps);
  bootstrap.start();
  return {
    feed,
    close: () => {
      bootstrap.stop();
      streams.closeAll();
    },
  };
}
