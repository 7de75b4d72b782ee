// A one-call service on the peer port answering "which cluster is this, and
// who is in it": what a member started with --initial-cluster-state existing
// needs before it can speak Raft (the cluster id every peer batch carries and
// its own member id, which MemberAdd chose). etcd serves the same over its
// peer HTTP (/members).
import { Client, credentials, type Server } from "@grpc/grpc-js";
import { assert } from "../util/assert.js";
import { addTypedService, callUnary, RAW_BYTES, unaryMethod } from "./grpc-codec.js";

export interface MembershipMember {
  readonly id: number;
  readonly name: string;
  /** host:port peer addresses. */
  readonly peerUrls: readonly string[];
  readonly isLearner: boolean;
}

export interface MembershipInfo {
  readonly clusterId: number;
  readonly members: readonly MembershipMember[];
}

export const MEMBERSHIP_SERVICE = {
  Get: unaryMethod("/cairn.raft.v1.Membership/Get", RAW_BYTES, RAW_BYTES),
} as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function registerMembershipService(server: Server, info: () => MembershipInfo): void {
  addTypedService(server, MEMBERSHIP_SERVICE, {
    Get: (_call, callback) => {
      callback(null, encoder.encode(JSON.stringify(info())));
    },
  });
}

function parseInfo(bytes: Uint8Array): MembershipInfo {
  const raw = JSON.parse(decoder.decode(bytes)) as MembershipInfo;
  assert(Number.isSafeInteger(raw.clusterId), "membership answer lacks a cluster id");
  assert(Array.isArray(raw.members), "membership answer lacks members");
  return raw;
}

/** Asks one peer (host:port) for the membership; rejects on any failure or after timeoutMs. */
export async function fetchMembership(address: string, timeoutMs: number): Promise<MembershipInfo> {
  const client = new Client(address, credentials.createInsecure());
  try {
    const bytes = await callUnary(client, MEMBERSHIP_SERVICE.Get, new Uint8Array(0), {
      deadline: Date.now() + timeoutMs,
    });
    return parseInfo(bytes);
  } finally {
    client.close();
  }
}
