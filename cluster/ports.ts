// Addresses of the local cluster's members, following etcd's local
// multi-member convention: member i listens on i·10000 + 2379/2380/2381;
// and free ports for the clusters tests and tools start.
import { createServer, type Server } from "node:net";

export interface LocalMember {
  readonly name: string;
  readonly client: string;
  readonly peer: string;
  readonly metrics: string;
}

export const LOCAL_HOST = "127.0.0.1";

export function localMembers(size: number, host = LOCAL_HOST): LocalMember[] {
  return Array.from({ length: size }, (_, i) => {
    const base = i * 10_000;
    return {
      name: `n${i + 1}`,
      client: `${host}:${base + 2379}`,
      peer: `${host}:${base + 2380}`,
      metrics: `${host}:${base + 2381}`,
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
