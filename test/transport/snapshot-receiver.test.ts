// The receiving side against a hand-driven client (a sender that stalls or
// stops early), and the whole path into real DiskStores: export on one node,
// stream, stage and install on the other.

import { Client, credentials, type StatusObject, status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { DiskStore } from "../../src/storage/index.js";
import { openBidiStream } from "../../src/transport/grpc-codec.js";
import {
  PEER_CHANNEL_OPTIONS,
  RAFT_INSTALL_SNAPSHOT_METHOD,
} from "../../src/transport/raft-service.js";
import {
  crcOf,
  encodeChunk,
  RowPacker,
  type SnapshotHeader,
} from "../../src/transport/snapshot-codec.js";
import type { SnapshotHandler } from "../../src/transport/snapshot-receiver.js";
import { TmpDirs } from "../storage/helpers.js";
import { CLUSTER_ID, startNode, stopAll, type TestNode, waitFor } from "./helpers.js";
import { makeRows, metaAt, plainRows, RecordingHandler, TABLES } from "./snapshot-helpers.js";

const nodes: TestNode[] = [];
const closers: Array<() => void> = [];
const dirs = new TmpDirs();
const stores: DiskStore[] = [];

afterEach(async () => {
  for (const close of closers.splice(0)) close();
  await stopAll(nodes.splice(0));
  await Promise.all(stores.splice(0).map((store) => store.close()));
  await dirs.cleanup();
});

const HEADER: SnapshotHeader = {
  clusterId: CLUSTER_ID,
  from: 1,
  to: 2,
  term: 3,
  transferId: 99,
  meta: metaAt(40),
};

/** A bare InstallSnapshot call, so a test can send exactly what it wants. */
function rawCall(address: string): {
  write: (bytes: Uint8Array) => void;
  end: () => void;
  status: Promise<StatusObject>;
} {
  const client = new Client(address, credentials.createInsecure(), PEER_CHANNEL_OPTIONS);
  closers.push(() => client.close());
  const call = openBidiStream(client, RAFT_INSTALL_SNAPSHOT_METHOD);
  call.on("data", () => undefined);
  call.on("error", () => undefined);
  const ended = new Promise<StatusObject>((resolve) => call.on("status", resolve));
  return { write: (bytes) => call.write(bytes), end: () => call.end(), status: ended };
}

function rowsChunk(seq: number): Uint8Array {
  const packer = new RowPacker(1024 * 1024);
  for (const row of makeRows(10)) packer.add(row);
  const { data, rowCount } = packer.take();
  return encodeChunk({ kind: "rows", seq, data, rowCount, crc32: crcOf(data) });
}

describe("SnapshotReceiver", () => {
  it("drops a transfer whose sender goes quiet, aborting its staging", async () => {
    const handler = new RecordingHandler();
    const node = await startNode(2, { snapshotHandler: handler, snapshotIdleTimeoutMs: 200 });
    nodes.push(node);
    const call = rawCall(node.address);
    call.write(encodeChunk({ kind: "header", seq: 0, header: HEADER }));
    call.write(rowsChunk(1));
    const ended = await call.status;
    expect(ended.code).toBe(status.DEADLINE_EXCEEDED);
    expect(ended.details).toBe("snapshot sender sent nothing for 200 ms");
    await waitFor(() => handler.events.length === 2, "staging aborted");
    expect(handler.events).toEqual([
      "begin 99",
      "abort 99: snapshot sender sent nothing for 200 ms",
    ]);
  });

  it("lets a new transfer preempt one whose sender went silent, and refuses it otherwise", async () => {
    const handler = new RecordingHandler();
    const node = await startNode(2, { snapshotHandler: handler, snapshotPreemptIdleMs: 300 });
    nodes.push(node);
    const stalled = rawCall(node.address);
    stalled.write(encodeChunk({ kind: "header", seq: 0, header: HEADER }));
    await waitFor(() => handler.events.length === 1, "first transfer begun");
    // Right away: the first sender is not yet silent long enough, so the newcomer is refused.
    const early = rawCall(node.address);
    early.write(encodeChunk({ kind: "header", seq: 0, header: { ...HEADER, transferId: 100 } }));
    expect((await early.status).code).toBe(status.RESOURCE_EXHAUSTED);
    await new Promise((resolve) => setTimeout(resolve, 400));
    // A new leader's transfer after the old sender stalled (e.g. it was paused).
    const fresh = rawCall(node.address);
    fresh.write(
      encodeChunk({ kind: "header", seq: 0, header: { ...HEADER, term: 4, transferId: 101 } }),
    );
    const ended = await stalled.status;
    expect(ended.details).toMatch(/^snapshot preempted: its sender was silent for \d+ ms/);
    await waitFor(() => handler.events.length === 3, "second transfer begun");
    expect(handler.events[0]).toBe("begin 99");
    expect(handler.events[1]).toMatch(/^abort 99: snapshot preempted/);
    expect(handler.events[2]).toBe("begin 101");
  });

  it("refuses a stream that ends before its trailer", async () => {
    const handler = new RecordingHandler();
    const node = await startNode(2, { snapshotHandler: handler });
    nodes.push(node);
    const call = rawCall(node.address);
    call.write(encodeChunk({ kind: "header", seq: 0, header: HEADER }));
    call.write(rowsChunk(1));
    call.end();
    const ended = await call.status;
    expect(ended.code).toBe(status.DATA_LOSS);
    expect(ended.details).toBe("snapshot chunk 2: the sender ended the stream before the trailer");
    await waitFor(() => handler.events.length === 2, "staging aborted");
  });

  it("refuses a stream that does not start with the header, and frees the slot", async () => {
    const handler = new RecordingHandler();
    const node = await startNode(2, { snapshotHandler: handler });
    nodes.push(node);
    const bad = rawCall(node.address);
    bad.write(encodeChunk({ kind: "header", seq: 0, header: { ...HEADER, clusterId: 8 } }));
    const ended = await bad.status;
    expect(ended.code).toBe(status.FAILED_PRECONDITION);
    expect(ended.details).toMatch(/cluster id mismatch/);
    const wrongKind = rawCall(node.address);
    wrongKind.write(rowsChunk(0));
    expect((await wrongKind.status).details).toBe(
      "snapshot chunk 0: a rows chunk; chunk 0 and only 0 is the header",
    );
    expect(handler.events).toEqual([]);
  });
});

/** The follower's shell in miniature: stage into DiskStore, install on complete. */
function diskHandler(store: DiskStore): SnapshotHandler {
  return {
    begin: (header) => store.beginSnapshotStaging(header.transferId),
    stage: (_header, rows) => store.stageRows(rows),
    // The real node steps MsgSnap here and installs when the core's Ready carries it.
    complete: (header) => store.installStagedSnapshot(header.meta),
    abort: () => store.abortStaging(),
  };
}

async function openStore(): Promise<DiskStore> {
  const store = await DiskStore.open(await dirs.make());
  stores.push(store);
  await store.load();
  return store;
}

async function exported(store: DiskStore): Promise<string[]> {
  const out: string[] = [];
  for await (const record of store.exportState(TABLES)) {
    out.push(
      record.kind === "applied" ? `applied ${record.appliedIndex}` : plainRows([record])[0]!,
    );
  }
  return out;
}

describe("snapshot transfer into DiskStore", () => {
  it("leaves the follower's state equal to the leader's export", async () => {
    const leaderStore = await openStore();
    await leaderStore.persistRaft(
      [1, 2, 3, 4, 5].map((index) => ({ index, term: 2, kind: "normal", data: new Uint8Array(0) })),
      { term: 2, vote: 1, commit: 5 },
    );
    await leaderStore.applyState(makeRows(5_000), 5);
    const followerStore = await openStore();
    const leader = await startNode(1);
    const follower = await startNode(2, { snapshotHandler: diskHandler(followerStore) });
    nodes.push(leader, follower);
    leader.transport.addPeer(2, follower.address);
    const result = await leader.transport.sendSnapshot(2, {
      term: 2,
      records: leaderStore.exportState(TABLES),
      metaAt: (index) => ({ index, term: 2, confState: { voters: [1, 2, 3], learners: [] } }),
    });
    expect(result.meta.index).toBe(5);
    expect(result.rows).toBe(5_000);
    expect(await exported(followerStore)).toEqual(await exported(leaderStore));
  });
});
