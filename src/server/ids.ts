// Member and cluster ids derived from names, as etcd derives them from the
// member's name and the initial cluster: stable across restarts, identical on
// every node, and kept below 2^48 so they survive the JS-number wire codec.
import { createHash } from "node:crypto";

const ID_BITS_MAX = 48;

function hashToId(text: string): number {
  const digest = createHash("sha256").update(text).digest();
  const id = digest.readUIntBE(0, ID_BITS_MAX / 8);
  return id === 0 ? 1 : id;
}

export function memberId(name: string, clusterToken: string): number {
  return hashToId(`member\0${clusterToken}\0${name}`);
}

export function clusterId(memberNames: readonly string[], clusterToken: string): number {
  return hashToId(`cluster\0${clusterToken}\0${[...memberNames].sort().join(",")}`);
}

export function formatId(id: number): string {
  return id.toString(16);
}

/**
 * An id for a member added at runtime (MemberAdd names no member, only its
 * peer URLs, as in etcd): unique per request, chosen once by the member that
 * handles it and replicated in the entry.
 */
export function addedMemberId(peerUrl: string, clusterToken: string, nowMs: number): number {
  return hashToId(`added\0${clusterToken}\0${peerUrl}\0${nowMs}`);
}
