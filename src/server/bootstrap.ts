// A member's first start. For a new cluster every initial member writes the
// same first log entries, one add-voter configuration change per member (as
// etcd does), committed from the start: the configuration is then part of the
// log, and a member added later that replays the log from index 1 learns it.
// A member joining an existing cluster asks a peer for the cluster id and for
// the id MemberAdd gave it, and starts with an empty log and configuration.
import type { Entry, HardState, NodeId } from "../raft/types.js";
import { encodeCommand } from "../state/command.js";
import type { DiskStore, LoadedState, MemberIdentity } from "../storage/index.js";
import { fetchMembership, type MembershipInfo } from "../transport/membership-rpc.js";
import { CairnError } from "./errors.js";
import type { RaftNodeOptions } from "./raft-node.js";

const JOIN_ATTEMPT_TIMEOUT_MS = 2_000;
const JOIN_DEADLINE_MS = 30_000;
const JOIN_RETRY_MS = 500;

export interface Bootstrapped {
  readonly loaded: LoadedState;
  /** Whom to contact first: id → peer address. */
  readonly peers: ReadonlyMap<NodeId, string>;
}

/** The bootstrap entries: identical bytes on every initial member (ids, no clock). */
export function bootstrapEntries(
  members: ReadonlyMap<NodeId, { name: string; peerAddress: string }>,
): Entry[] {
  const ids = [...members.keys()].sort((a, b) => a - b);
  return ids.map((memberId, k) => {
    const member = members.get(memberId);
    if (member === undefined) throw new Error(`member ${memberId} vanished`);
    const data = encodeCommand({
      v: 1,
      id: 0,
      from: 0,
      at: 0,
      kind: "cluster-member",
      change: "add-voter",
      memberId,
      name: member.name,
      peerUrls: [member.peerAddress],
    });
    return { index: k + 1, term: 1, kind: "conf-change", data };
  });
}

export async function bootstrap(options: RaftNodeOptions, disk: DiskStore): Promise<Bootstrapped> {
  const empty = { voters: [], learners: [] };
  let identity: MemberIdentity;
  let entries: Entry[] = [];
  let hardState: HardState = { term: 0, vote: 0, commit: 0 };
  let peers: Map<NodeId, string>;
  if (options.initialClusterState === "new") {
    identity = { memberId: options.id, clusterId: options.clusterId };
    entries = bootstrapEntries(options.members);
    hardState = { term: 1, vote: 0, commit: entries.length };
    peers = new Map([...options.members].map(([id, m]) => [id, m.peerAddress]));
  } else {
    const info = await askForMembership(options);
    const self = info.members.find((m) => m.peerUrls.includes(options.listenPeer));
    if (self === undefined) {
      throw new CairnError(
        "INVALID_ARGUMENT",
        `no member of the cluster has peer address ${options.listenPeer}: add this member first ` +
          `(cairn member add ${options.name} --peer-urls ${options.listenPeer}) and start it with that address`,
      );
    }
    identity = { memberId: self.id, clusterId: info.clusterId };
    peers = new Map(
      info.members.filter((m) => m.id !== self.id).map((m) => [m.id, m.peerUrls[0] ?? ""]),
    );
  }
  await disk.setIdentity(identity);
  if (entries.length > 0) {
    await disk.persistRaft(entries, hardState, { sync: true });
  }
  // Written last: its presence marks a finished first start.
  await disk.setConfState(empty);
  const loaded: LoadedState = {
    hardState,
    confState: empty,
    appliedIndex: 0,
    firstIndex: 1,
    entries,
    snapshotMeta: null,
    identity,
  };
  return { loaded, peers };
}

/** Asks the --initial-cluster peers in turn until one answers, for up to JOIN_DEADLINE_MS. */
async function askForMembership(options: RaftNodeOptions): Promise<MembershipInfo> {
  const addresses = [...options.members.values()]
    .map((m) => m.peerAddress)
    .filter((address) => address !== options.listenPeer);
  if (addresses.length === 0) {
    throw new CairnError(
      "INVALID_ARGUMENT",
      "--initial-cluster-state existing needs --initial-cluster to name at least one running member",
    );
  }
  const deadline = Date.now() + JOIN_DEADLINE_MS;
  const failures: string[] = [];
  for (;;) {
    for (const address of addresses) {
      try {
        return await fetchMembership(address, JOIN_ATTEMPT_TIMEOUT_MS);
      } catch (error) {
        failures.push(`${address}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (Date.now() >= deadline) {
      throw new CairnError(
        "UNAVAILABLE",
        `could not reach any member of the existing cluster (${failures.slice(-addresses.length).join("; ")})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, JOIN_RETRY_MS));
  }
}

/**
 * Whom a member that has started before but holds no state yet (a joiner
 * stopped before its first snapshot arrived) should contact: its membership
 * table is empty, so it asks its --initial-cluster peers again, and falls
 * back to the addresses listed there.
 */
export async function peersOfEmptyMember(
  options: RaftNodeOptions,
  selfId: NodeId,
): Promise<Map<NodeId, string>> {
  for (const member of options.members.values()) {
    if (member.peerAddress === options.listenPeer) continue;
    try {
      const info = await fetchMembership(member.peerAddress, JOIN_ATTEMPT_TIMEOUT_MS);
      return new Map(
        info.members.filter((m) => m.id !== selfId).map((m) => [m.id, m.peerUrls[0] ?? ""]),
      );
    } catch {
      // try the next one
    }
  }
  return new Map(
    [...options.members]
      .filter(([id, m]) => id !== selfId && m.peerAddress !== options.listenPeer)
      .map(([id, m]) => [id, m.peerAddress]),
  );
}
