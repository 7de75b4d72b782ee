// What a snapshot's state rows become in a cluster restored from it (`cairn
// snapshot restore`). The keyspace with its revisions and history, leases
// and their keys, and every platform table (users, sessions, resources, op
// log, locks, membership groups) carry over byte for byte, except:
//  - member attributes and alarms are dropped: they are keyed by the ids of
//    the old cluster's members, which the new cluster does not have. The new
//    members publish their own attributes when they start, and a member
//    still over its quota raises NOSPACE again at its next size sample.
//  - every lease's expiry is moved to nowMs + its granted TTL. The file holds
//    absolute expiry times from the old cluster's clocks, which a restore
//    done hours later would find long past: the new leader's first expiry
//    sweep would revoke every lease and delete its keys before any client
//    could reconnect to keep it alive. etcd avoids the same by renewing every
//    lease to its full TTL whenever a member becomes leader; cairn keeps the
//    remaining TTL across elections instead, so the restore gives each lease
//    a full TTL once, as a keep-alive at restore time would.
// Each member is restored separately, so members may hold expiries a few
// seconds apart (the time between their restores). That is the same kind of
// difference as clock skew between members: only the leader acts on expiry
// (by proposing revokes through Raft), and the first keep-alive, applied on
// every member alike, evens them out.
import { ALARM_TABLE } from "./alarm-table.js";
import { CLUSTER_MEMBERS_TABLE, ClusterMembersTable } from "./cluster-members.js";
import { LEASE_TABLE, refreshLeaseRow } from "./lease-table.js";
import { MEMBER_ATTRIBUTES_TABLE } from "./member-attributes.js";

/** One persisted state row, as DiskStore.exportState yields it and snapshot files hold it. */
export interface StateRow {
  readonly table: string;
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** Tables whose rows name members of the cluster the snapshot was taken from. */
const OLD_CLUSTER_TABLES: ReadonlySet<string> = new Set([
  MEMBER_ATTRIBUTES_TABLE,
  ALARM_TABLE,
  CLUSTER_MEMBERS_TABLE,
]);

/** A restored cluster's membership: its members as voters, named as --initial-cluster names them. */
export function newClusterMemberRows(
  members: readonly { id: number; name: string; peerAddress: string }[],
): StateRow[] {
  const table = new ClusterMembersTable();
  const out: StateRow[] = [];
  for (const member of members) {
    for (const write of table.apply("add-voter", {
      id: member.id,
      name: member.name,
      peerUrls: [member.peerAddress],
    })) {
      if (write.value !== null)
        out.push({ table: write.table, key: write.key, value: write.value });
    }
  }
  return out;
}

export function rowsForNewCluster(rows: Iterable<StateRow>, nowMs: number): StateRow[] {
  const out: StateRow[] = [];
  for (const row of rows) {
    if (OLD_CLUSTER_TABLES.has(row.table)) continue;
    if (row.table === LEASE_TABLE) {
      out.push({ ...row, value: refreshLeaseRow(row.key, row.value, nowMs) });
    } else {
      out.push(row);
    }
  }
  return out;
}
