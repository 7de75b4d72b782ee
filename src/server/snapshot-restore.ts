// `cairn snapshot restore`: turns a snapshot file into the data dir of one
// member of a NEW cluster (like `etcdutl snapshot restore`). Run once per
// member with the same file, --initial-cluster and --initial-cluster-token,
// then start every member with those flags.
//
// The new data dir is a member that has applied everything up to a snapshot
// point at index 1, term 1 (restore-writer.ts has the record list):
//  - Index 1, not the file's applied index: like etcd, a restore starts a new
//    cluster whose log starts over, and the old log's indexes mean nothing to
//    it. The Raft core needs the point to be at least 1 (its storage starts
//    with an empty snapshot at 0 and takes only newer ones) and its term known
//    (1, so the first election is for term 2); then every member boots with
//    the same log position and the first leader appends at index 2.
//  - The conf state lists the ids of the --initial-cluster members, derived
//    from their names and the token exactly as `cairn serve` derives them.
//  - The state rows are the file's, rewritten for a new cluster
//    (state/restore-rows.ts: old members' attributes and alarms dropped, lease
//    expiries refreshed).
// Nothing half-written: everything goes to DIR.tmp-XXXXXX next to DIR, which
// is renamed to DIR only once it has been read back as a bootable data dir.
import { mkdir, mkdtemp, open, readdir, rename, rm, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { NodeId } from "../raft/types.js";
import { newClusterMemberRows, rowsForNewCluster } from "../state/restore-rows.js";
import type { StateSummary } from "../state/state-summary.js";
import { writeDataDirAtSnapshot } from "../storage/restore-writer.js";
import { MEMBER_NAME_PATTERN, type PeerSpec } from "./config.js";
import { clusterId, memberId } from "./ids.js";
import { readSnapshotFile, SnapshotReadError, summarizeSnapshotRows } from "./snapshot-info.js";

/** The snapshot point of every restored data dir; see the header comment. */
export const RESTORE_POINT = { index: 1, term: 1 } as const;

export class RestoreError extends Error {
  override readonly name = "RestoreError";
}

export interface RestoreRequest {
  readonly snapshotFile: string;
  /** This member's name; must be in initialCluster. */
  readonly name: string;
  readonly initialCluster: readonly PeerSpec[];
  readonly initialClusterToken: string;
  readonly dataDir: string;
  /** etcd's --initial-advertise-peer-urls: checked against this member's --initial-cluster entry. */
  readonly advertisePeerAddresses: readonly string[] | null;
  /** The restore's clock, for the lease expiries. */
  readonly nowMs: number;
}

export interface RestoreReport {
  readonly dataDir: string;
  readonly memberId: NodeId;
  readonly clusterId: number;
  readonly members: ReadonlyArray<{ readonly name: string; readonly id: NodeId }>;
  /** The applied index recorded in the file (of the old cluster's log). */
  readonly fileAppliedIndex: number;
  readonly summary: StateSummary;
}

export async function restoreSnapshot(request: RestoreRequest): Promise<RestoreReport> {
  const self = checkMembership(request);
  const dataDir = resolve(request.dataDir);
  await refuseExisting(dataDir);
  const { snapshot, rows, summary } = await verifiedRows(request);
  const members = request.initialCluster.map((peer) => ({
    name: peer.name,
    id: memberId(peer.name, request.initialClusterToken),
    peerAddress: peer.peerAddress,
  }));
  const confState = { voters: members.map((m) => m.id).sort((a, b) => a - b), learners: [] };
  const identity = {
    memberId: memberId(self.name, request.initialClusterToken),
    clusterId: clusterId(
      request.initialCluster.map((p) => p.name),
      request.initialClusterToken,
    ),
  };
  // The new cluster's membership is part of the state, as a bootstrapped cluster's would be.
  const allRows = [...rows, ...newClusterMemberRows(members)];
  await mkdir(dirname(dataDir), { recursive: true });
  const tmpDir = await mkdtemp(`${dataDir}.tmp-`);
  try {
    await writeDataDirAtSnapshot(tmpDir, { ...RESTORE_POINT, confState, identity }, allRows);
    await moveIntoPlace(tmpDir, dataDir);
  } catch (error) {
    await rm(tmpDir, { recursive: true, force: true });
    throw error;
  }
  return {
    dataDir,
    memberId: identity.memberId,
    clusterId: identity.clusterId,
    members: members.map(({ name, id }) => ({ name, id })),
    fileAppliedIndex: snapshot.appliedIndex,
    summary,
  };
}

function checkMembership(request: RestoreRequest): PeerSpec {
  if (!MEMBER_NAME_PATTERN.test(request.name)) {
    throw new RestoreError(
      `--name must be 1-64 of [A-Za-z0-9._-] (as cairn serve requires), got "${request.name}"`,
    );
  }
  const self = request.initialCluster.find((peer) => peer.name === request.name);
  if (self === undefined) {
    const names = request.initialCluster.map((p) => p.name).join(",");
    throw new RestoreError(
      `--initial-cluster (${names}) does not list this member "${request.name}": ` +
        "restore every member with the same --initial-cluster, naming it with --name",
    );
  }
  const advertised = request.advertisePeerAddresses;
  if (advertised !== null && !advertised.includes(self.peerAddress)) {
    throw new RestoreError(
      `--initial-advertise-peer-urls (${advertised.join(",")}) does not include ` +
        `${self.peerAddress}, the peer address --initial-cluster gives "${self.name}": ` +
        "make them agree, since the other members reach this one at the --initial-cluster address",
    );
  }
  return self;
}

/** etcd refuses to restore over an existing data dir; so does cairn, unless it is an empty directory. */
async function refuseExisting(dataDir: string): Promise<void> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(dataDir)).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  if (isDirectory && (await readdir(dataDir)).length === 0) return;
  throw new RestoreError(
    `data dir ${dataDir} already exists${isDirectory ? " and is not empty" : " (as a file)"}: ` +
      "a restore writes a fresh data dir and never touches an existing one; " +
      "choose another --data-dir, or move the old one away first",
  );
}

/** The file's rows for the new cluster, or a RestoreError before anything is written. */
async function verifiedRows(request: RestoreRequest) {
  try {
    const snapshot = await readSnapshotFile(request.snapshotFile);
    const rows = rowsForNewCluster(snapshot.rows, request.nowMs);
    return { snapshot, rows, summary: summarizeSnapshotRows(request.snapshotFile, rows) };
  } catch (error) {
    if (error instanceof SnapshotReadError) {
      throw new RestoreError(
        `refusing to restore: ${error.message}; nothing was written (use another copy of the snapshot)`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** Renames the finished dir into place and makes the rename durable. */
async function moveIntoPlace(tmpDir: string, dataDir: string): Promise<void> {
  try {
    await rename(tmpDir, dataDir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOTEMPTY" || code === "EEXIST" || code === "ENOTDIR") {
      throw new RestoreError(
        `data dir ${dataDir} appeared while restoring: choose another --data-dir`,
        { cause: error },
      );
    }
    throw error;
  }
  const parent = await open(dirname(dataDir), "r");
  try {
    await parent.sync();
  } finally {
    await parent.close();
  }
}
