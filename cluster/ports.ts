// Addresses of the local cluster's members, following etcd's local
// multi-member convention: member i listens on i·10000 + 2379/2380/2381
// (another base port than 2379 shifts them all);
// and free ports for the clusters tests and tools start.
import { createServer, type Server } from "node:net";

export interface LocalMember {
  readonly name: string;
  readonly client: string;
  readonly peer: string;
  readonly metrics: string;
}

export const LOCAL_HOST = "127.0.0.1";

/** etcd's client port; the peer and metrics ports follow it. */
export const LOCAL_BASE_PORT = 2379;
/** Ports between one local member and the next. */
export const LOCAL_MEMBER_PORT_STRIDE = 10_000;

export function localMembers(
  size: number,
  host = LOCAL_HOST,
  basePort = LOCAL_BASE_PORT,
): LocalMember[] {
  return Array.from({ length: size }, (_, i) => {
    const base = basePort + i * LOCAL_MEMBER_PORT_STRIDE;
    return {
      name: `n${i + 1}`,
      client: `${host}:${base}`,
      peer: `${host}:${base + 1}`,
      metrics: `${host}:${base + 2}`,
    };
  });
}

/** The client endpoints of the default local cluster, used as the CLI's default. */
export function defaultEndpoints(): string[] {
  return localMembers(3).map((m) => m.client);
}

/**
 * `count` distinct free loopback ports. All are held open until every one is
 * chosen, so the OS cannot hand the same port out twice within the batch
 * (picking one at a time, a freed port can come back for the next member).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once("error", reject);
          server.listen(0, LOCAL_HOST, () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    return typeof address === "object" && address !== null ? address.port : 0;
  });
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  return ports;
}
