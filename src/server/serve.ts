// `cairn serve`: assembles one member — storage, Raft loop, peer transport,
// the client gRPC port and the metrics port — and shuts it down cleanly on
// SIGTERM/SIGINT, handing leadership over first if it leads.

import type { Server as HttpServer } from "node:http";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { addTypedService } from "../transport/grpc-codec.js";
import { AutoCompactor } from "./auto-compactor.js";
import { ClusterHandlers } from "./cluster-service.js";
import { ConfigError, envName, parseServeArgs, SERVE_FLAGS, type ServeConfig } from "./config.js";
import { CorruptionChecker } from "./corruption/checker.js";
import { GrpcPeerQueries, grpcAddress } from "./corruption/peer-queries.js";
import { DiskSpaceGuard } from "./disk-space-guard.js";
import { registerElectionService } from "./election/register.js";
import { type HandoffOutcome, handOffLeadership } from "./handoff.js";
import { startHttp } from "./http.js";
import { clusterId, memberId } from "./ids.js";
import { KvHandlers } from "./kv-handlers.js";
import { registerLeaseService } from "./lease/register.js";
import { registerLockService } from "./lock/lock-service.js";
import { createLogger, type Logger } from "./logger.js";
import { Maintenance } from "./maintenance.js";
import { NodeMetrics } from "./metrics.js";
import { registerPlatformServices } from "./platform/register.js";
import { AttributePublisher } from "./publish-attributes.js";
import { RaftNode } from "./raft-node.js";
import {
  CLUSTER_SERVICE,
  KV_SERVICE,
  MAINTENANCE_SERVICE,
  NODE_SERVICE,
  setLeaderProbe,
  unary,
} from "./services.js";
import { StatusHandlers } from "./status-handlers.js";
import { corruptForTest } from "./test-corruption.js";
import { WATCH_SKIP_EVERY_EVENTS, warnUnsafeSwitches } from "./unsafe.js";
import { registerWatchService } from "./watch/watch-service.js";

export const CAIRN_VERSION = "0.1.0";

/** Server limits: accept etcd's request limit plus its 512 KiB of gRPC overhead. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;
/** How long in-flight calls get to finish on SIGTERM before streams are cut. */
const GRACEFUL_SHUTDOWN_MS = 2000;

export interface RunningMember {
  readonly node: RaftNode;
  readonly clientPort: number;
  /** If this member leads, moves leadership to the most caught-up voter (bounded wait). */
  handOffLeadership(): Promise<HandoffOutcome>;
  stop(): Promise<void>;
}

function splitHostPort(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(":");
  return {
    host: address.slice(0, at).replace(/^\[|\]$/g, ""),
    port: Number(address.slice(at + 1)),
  };
}

function bindGrpc(server: Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (error, port) => {
      if (error) reject(new Error(`cannot listen on ${address}: ${error.message}`));
      else resolve(port);
    });
  });
}

export async function startMember(config: ServeConfig, logger: Logger): Promise<RunningMember> {
  const metrics = new NodeMetrics();
  const unsafe = config.unsafe;
  warnUnsafeSwitches(logger, unsafe);
  metrics.setUnsafeSwitches(unsafe);
  const members = new Map(
    config.initialCluster.map((p) => [
      memberId(p.name, config.initialClusterToken),
      { name: p.name, peerAddress: p.peerAddress },
    ]),
  );
  const ticksPerElection = Math.round(config.electionTimeoutMs / config.heartbeatIntervalMs);
  const node = await RaftNode.start({
    name: config.name,
    id: memberId(config.name, config.initialClusterToken),
    clusterId: clusterId(
      config.initialCluster.map((p) => p.name),
      config.initialClusterToken,
    ),
    dataDir: config.dataDir,
    listenPeer: config.listenPeer,
    members,
    initialClusterState: config.initialClusterState,
    snapshotCount: config.snapshotCount,
    snapshotCatchupEntries: config.snapshotCatchupEntries,
    tickMs: config.heartbeatIntervalMs,
    electionTicks: ticksPerElection,
    heartbeatTicks: 1,
    requestTimeoutMs: config.requestTimeoutMs,
    maxRequestBytes: config.maxRequestBytes,
    maxTxnOps: config.maxTxnOps,
    logger,
    metrics,
    unsafe,
    ...(config.unsafePeerDial.size > 0 ? { peerDialOverrides: config.unsafePeerDial } : {}),
  });
  metrics.bindPeers(() =>
    [...node.transport.peerStats()].map(([id, stats]) => ({
      peer: node.memberName(id) || id.toString(16),
      roundTripMs: stats.roundTripMs,
      lastContactMs: stats.lastContactMs,
      bytesSent: stats.bytesSent,
      bytesReceived: stats.bytesReceived,
    })),
  );
  const status = new StatusHandlers(node, config, CAIRN_VERSION);
  const maintenance = new Maintenance(
    node,
    status,
    {
      quotaBackendBytes: config.quotaBackendBytes,
      version: CAIRN_VERSION,
      sizeSampleIntervalMs: 1000,
      moveLeaderTimeoutMs: config.requestTimeoutMs,
    },
    logger,
  );
  await maintenance.start();
  const diskGuard = new DiskSpaceGuard(node, config.dataDir, config.diskReserveBytes, logger);
  await diskGuard.start();
  const autoCompactor = new AutoCompactor(node, config.autoCompaction, logger);
  autoCompactor.start();
  const attributes = new AttributePublisher(node, config.name, config.advertiseClientUrls, logger);
  attributes.start();
  const corruptionChecker = new CorruptionChecker({
    node,
    peers: new GrpcPeerQueries((id) => {
      const url = node.stateMachine.memberAttributes.get(id)?.clientUrls[0];
      return url === undefined ? null : grpcAddress(url);
    }),
    members,
    intervalMs: config.corruptCheckIntervalMs,
    logger,
  });
  corruptionChecker.start();
  const kv = new KvHandlers(node, status, maintenance, config.maxTxnOps);
  setLeaderProbe(() => node.leaderId !== 0);
  const grpcServer = new Server({
    "grpc.max_receive_message_length": config.maxRequestBytes + GRPC_OVERHEAD_BYTES,
    "grpc.max_send_message_length": 2 ** 31 - 1,
  });
  addTypedService(grpcServer, KV_SERVICE, {
    Range: unary((r) => kv.range(r)),
    Put: unary((r) => kv.put(r)),
    DeleteRange: unary((r) => kv.deleteRange(r)),
    Txn: unary((r) => kv.txn(r)),
    Compact: unary((r) => kv.compact(r)),
  });
  addTypedService(grpcServer, MAINTENANCE_SERVICE, {
    Status: unary(() => maintenance.status()),
    Alarm: unary((r) => maintenance.alarm(r)),
    Defragment: unary(() => maintenance.defragment()),
    Hash: unary(() => maintenance.hash()),
    HashKV: unary((r) => maintenance.hashKv(r)),
    MoveLeader: unary((r) => maintenance.moveLeader(r)),
    Snapshot: (call) => {
      maintenance.snapshot(call).catch((error: unknown) => call.destroy(error as Error));
    },
  });
  const cluster = new ClusterHandlers({
    node,
    status,
    clusterToken: config.initialClusterToken,
    requestTimeoutMs: config.requestTimeoutMs,
    electionTimeoutMs: config.electionTimeoutMs,
  });
  addTypedService(grpcServer, CLUSTER_SERVICE, {
    MemberList: unary(() => status.memberList()),
    MemberAdd: unary((r) => cluster.memberAdd(r)),
    MemberRemove: unary((r) => cluster.memberRemove(r)),
    MemberUpdate: unary((r) => cluster.memberUpdate(r)),
    MemberPromote: unary((r) => cluster.memberPromote(r)),
  });
  addTypedService(grpcServer, NODE_SERVICE, {
    Status: unary(() => status.nodeStatus()),
    StateDigest: unary((r) => status.stateDigest(r)),
  });
  const watch = registerWatchService(grpcServer, {
    node,
    headers: status,
    config,
    ...(unsafe.has("watch-skip") ? { skipEveryEvents: WATCH_SKIP_EVERY_EVENTS } : {}),
  });
  const recipes = { node, headers: status, gate: maintenance };
  const leases = registerLeaseService(grpcServer, {
    ...recipes,
    electionTimeoutMs: config.electionTimeoutMs,
    logger,
  });
  registerLockService(grpcServer, recipes, { earlyGrant: unsafe.has("early-lock-grant") });
  registerElectionService(grpcServer, recipes);
  const platform = registerPlatformServices(grpcServer, {
    ...recipes,
    electionTimeoutMs: config.electionTimeoutMs,
    adminPassword: config.adminPassword,
    logger,
    earlyLockGrant: unsafe.has("early-lock-grant"),
  });
  const clientPort = await bindGrpc(grpcServer, config.listenClient);
  const metricsAddress = splitHostPort(config.listenMetrics);
  const http: HttpServer = await startHttp(
    {
      metrics,
      logger,
      health: () => node.linearizableBarrier(),
      ready: () => (node.leaderId === 0 ? "no leader known yet" : null),
      applyFaults: config.unsafeTestMode
        ? (rules) => node.transport.faults.applyRules(rules)
        : null,
      testHooks: config.unsafeTestMode
        ? { corrupt: (body) => corruptForTest(node.stateMachine, body) }
        : null,
    },
    metricsAddress.host,
    metricsAddress.port,
  );
  logger.info(
    {
      client: config.listenClient,
      peer: config.listenPeer,
      metrics: config.listenMetrics,
      dataDir: config.dataDir,
    },
    "serving",
  );
  return {
    node,
    clientPort,
    // A transfer takes a round trip and an election; the core itself gives up
    // after one election timeout, so two bound the wait with room to spare.
    handOffLeadership: () => handOffLeadership(node, 2 * config.electionTimeoutMs, logger),
    stop: async () => {
      attributes.stop();
      corruptionChecker.stop();
      diskGuard.stop();
      autoCompactor.stop();
      cluster.close();
      watch.close();
      platform.close();
      leases.stop();
      maintenance.stop();
      http.close();
      // Long-lived streams (watch, keep-alive) would hold a graceful shutdown open forever.
      const forced = setTimeout(() => grpcServer.forceShutdown(), GRACEFUL_SHUTDOWN_MS);
      await new Promise<void>((resolve) => grpcServer.tryShutdown(() => resolve()));
      clearTimeout(forced);
      await node.stop();
    },
  };
}

function serveHelp(): string {
  const lines = Object.entries(SERVE_FLAGS).map(
    ([flag, spec]) =>
      `  --${flag.padEnd(24)}${spec.help}${spec.default !== undefined ? ` (default ${spec.default})` : ""}  [${envName(flag)}]`,
  );
  return `usage: cairn serve --name NAME --initial-cluster n1=host:port,... [flags]\n\n${lines.join("\n")}\n`;
}

export async function serveMain(argv: readonly string[]): Promise<void> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(serveHelp());
    return;
  }
  let config: ServeConfig;
  try {
    config = parseServeArgs(argv, process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`cairn serve: ${error.message}\n(see cairn serve --help)\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.name, config.logLevel);
  const member = await startMember(config, logger);
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    // Still serving while leadership moves: requests keep landing meanwhile.
    member
      .handOffLeadership()
      .then(() => member.stop())
      .then(
        () => {
          logger.info("stopped");
          logger.flush();
          setTimeout(() => process.exit(0), 50);
        },
        (error: unknown) => {
          logger.error({ err: error }, "unclean shutdown");
          process.exit(1);
        },
      );
  };
  // Like etcd, a member removed from the cluster stops. "Removed" means it was
  // in the membership and is no longer: a joining member replays changes that
  // predate it first.
  let listed = false;
  member.node.onMembership((members) => {
    const present = members.some((m) => m.id === member.node.id);
    if (present) listed = true;
    else if (listed) {
      logger.warn("this member was removed from the cluster");
      shutdown("removed from the cluster");
    }
  });
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}
