// Addresses of the local cluster's members, following etcd's local
// multi-member convention: member i listens on i·10000 + 2379/2380/2381.

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
