// Maintenance.HashKV of every member at one revision, for tests that check
// members agree byte for byte (etcd3's bundled proto lacks HashKV).
import { callUnary, openChannel, unaryMethod } from "../../src/client/rpc.js";
import { etcdserverpb } from "../../src/gen/etcd.js";
import type { TestCluster } from "./harness.js";

const HASH_KV = unaryMethod(
  "/etcdserverpb.Maintenance/HashKV",
  etcdserverpb.HashKVRequest,
  etcdserverpb.HashKVResponse,
);

/** Each named member's HashKV at `revision`, by name. */
export async function hashKvByMember(
  cluster: TestCluster,
  names: readonly string[],
  revision: number,
): Promise<Map<string, number>> {
  const hashes = new Map<string, number>();
  for (const name of names) {
    const channel = openChannel(cluster.member(name).client);
    try {
      const response = await callUnary(channel, HASH_KV, { revision }, 5000);
      hashes.set(name, response.hash);
    } finally {
      channel.close();
    }
  }
  return hashes;
}
