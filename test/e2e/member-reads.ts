// Reads of one member's own state through raw etcd RPCs, for tests that check
// members agree byte for byte: HashKV at a revision (etcd3's bundled proto
// lacks it) and a serializable prefix Range at a revision.

import { prefixEnd } from "../../src/client/kv.js";
import { callUnary, openChannel, unaryMethod } from "../../src/client/rpc.js";
import { etcdserverpb } from "../../src/gen/etcd.js";
import type { TestCluster } from "./harness.js";

const HASH_KV = unaryMethod(
  "/etcdserverpb.Maintenance/HashKV",
  etcdserverpb.HashKVRequest,
  etcdserverpb.HashKVResponse,
);
const RANGE = unaryMethod(
  "/etcdserverpb.KV/Range",
  etcdserverpb.RangeRequest,
  etcdserverpb.RangeResponse,
);

const CALL_TIMEOUT_MS = 5000;

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
      const response = await callUnary(channel, HASH_KV, { revision }, CALL_TIMEOUT_MS);
      hashes.set(name, response.hash);
    } finally {
      channel.close();
    }
  }
  return hashes;
}

/** key → value of every key under `prefix` as one member's own state had it at `revision`. */
export async function prefixAt(
  cluster: TestCluster,
  name: string,
  prefix: string,
  revision: number,
): Promise<Map<string, string>> {
  const channel = openChannel(cluster.member(name).client);
  try {
    const key = Buffer.from(prefix);
    const response = await callUnary(
      channel,
      RANGE,
      { key, rangeEnd: prefixEnd(key), revision, serializable: true },
      CALL_TIMEOUT_MS,
    );
    return new Map(
      response.kvs.map((kv) => [
        Buffer.from(kv.key ?? []).toString(),
        Buffer.from(kv.value ?? []).toString(),
      ]),
    );
  } finally {
    channel.close();
  }
}
