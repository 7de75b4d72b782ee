// InstallSnapshot between real PeerTransports on loopback: rows arrive intact
// and in order, damage and aborts are detected and clean the staging up, one
// transfer at a time, and flow control bounds the chunks in flight.

import { status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { snapshotMessage } from "../../src/transport/snapshot-codec.js";
import {
  SnapshotAbortedError,
  SnapshotBusyError,
  SnapshotSendError,
} from "../../src/transport/snapshot-errors.js";
import { SNAPSHOT_CHUNKS_IN_FLIGHT_MAX } from "../../src/transport/snapshot-sender.js";
import { startCluster, startNode, stopAll, type TestNode, waitFor } from "./helpers.js";
import { exportOf, makeRows, metaAt, plainRows, RecordingHandler } from "./snapshot-helpers.js";

const nodes: TestNode[] = [];

afterEach(async () => {
  await stopAll(nodes.splice(0));
});

/** Node 1 sends, node 2 receives through `handler`. */
async function pair(handler: RecordingHandler): Promise<[TestNode, TestNode]> {
  const [leader, follower] = await startCluster([1, 2]);
  await stopAll([follower!]);
  const receiving = await startNode(2, { snapshotHandler: handler });
  leader!.transport.addPeer(2, receiving.address);
  nodes.push(leader!, receiving);
  return [leader!, receiving];
}

function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error,
  );
}

describe("InstallSnapshot", () => {
  it("streams 20 000 rows (several MB) exactly, in order, then completes", async () => {
    const handler = new RecordingHandler();
    const [leader] = await pair(handler);
    const rows = makeRows(20_000);
    const result = await leader.transport.sendSnapshot(2, {
      term: 3,
      records: exportOf(500, rows),
      metaAt,
    });
    expect(result.rows).toBe(20_000);
    expect(result.bytes).toBeGreaterThan(4 * 1024 * 1024);
    expect(result.rowsChunks).toBeGreaterThanOrEqual(4);
    expect(result.meta).toEqual(metaAt(500));
    expect(plainRows(handler.staged)).toEqual(plainRows(rows));
    expect(handler.events).toEqual([`begin ${result.transferId}`, `complete ${result.transferId}`]);
    expect(handler.totals).toEqual({
      rows: 20_000,
      rowsChunks: result.rowsChunks,
      bytes: result.bytes,
    });
    const header = handler.headers[0]!;
    expect(header).toEqual({
      clusterId: 7,
      from: 1,
      to: 2,
      term: 3,
      transferId: result.transferId,
      meta: metaAt(500),
    });
    const message = snapshotMessage(header);
    expect(message).toMatchObject({ type: "MsgSnap", from: 1, to: 2, term: 3 });
    expect(message.snapshot?.meta).toEqual(metaAt(500));
  });

  it("detects a flipped byte, names the chunk, aborts staging, and accepts a re-send", async () => {
    const handler = new RecordingHandler();
    const [leader] = await pair(handler);
    const rows = makeRows(3_000);
    const failure = await rejection(
      leader.transport.sendSnapshot(
        2,
        { term: 3, records: exportOf(40, rows), metaAt },
        {
          chunkBytesTarget: 64 * 1024,
          testHooks: {
            corruptRows: (seq, data) => {
              if (seq === 3) data[100] = data[100]! ^ 0x20;
            },
          },
        },
      ),
    );
    expect(failure).toBeInstanceOf(SnapshotSendError);
    const sendError = failure as SnapshotSendError;
    expect(sendError.status).toBe(status.DATA_LOSS);
    expect(sendError.details).toMatch(/^snapshot chunk 3: CRC mismatch/);
    await waitFor(() => handler.events.length === 2, "staging aborted");
    expect(handler.events[1]).toMatch(/^abort \d+: snapshot chunk 3: CRC mismatch/);
    expect(handler.staged).toEqual([]);
    // Restartable: the leader simply sends it all again.
    const retry = await leader.transport.sendSnapshot(2, {
      term: 3,
      records: exportOf(40, rows),
      metaAt,
    });
    expect(retry.rows).toBe(3_000);
    expect(plainRows(handler.staged)).toEqual(plainRows(rows));
  });

  it("aborts mid-stream on the caller's signal and the receiver cleans up", async () => {
    const handler = new RecordingHandler();
    handler.stageDelayMs = 5;
    const [leader] = await pair(handler);
    const controller = new AbortController();
    const failure = await rejection(
      leader.transport.sendSnapshot(
        2,
        { term: 3, records: exportOf(40, makeRows(5_000)), metaAt },
        {
          signal: controller.signal,
          chunkBytesTarget: 32 * 1024,
          testHooks: { onChunkSent: (seq) => seq === 5 && controller.abort() },
        },
      ),
    );
    expect(failure).toBeInstanceOf(SnapshotAbortedError);
    await waitFor(() => handler.events.some((e) => e.startsWith("abort")), "staging aborted");
    expect(handler.events[1]).toMatch(/^abort \d+: the sender cancelled the transfer$/);
    expect(handler.staged).toEqual([]);
  });

  it("keeps at most the window of chunks between the exporter and the disk", async () => {
    const handler = new RecordingHandler();
    handler.stageDelayMs = 15;
    const [leader] = await pair(handler);
    let highestSent = 0;
    let inFlightMax = 0;
    // When stage() starts on rows chunk n (n = staged + 1), chunks n..highestSent are in flight.
    handler.onStage = (stagedBefore) => {
      inFlightMax = Math.max(inFlightMax, highestSent - stagedBefore);
    };
    const result = await leader.transport.sendSnapshot(
      2,
      { term: 3, records: exportOf(40, makeRows(2_000)), metaAt },
      {
        chunkBytesTarget: 16 * 1024,
        testHooks: { onChunkSent: (seq) => (highestSent = Math.max(highestSent, seq)) },
      },
    );
    expect(result.rowsChunks).toBeGreaterThan(20);
    // The sender filled its window (so this measured something) and never exceeded it.
    expect(inFlightMax).toBe(SNAPSHOT_CHUNKS_IN_FLIGHT_MAX);
  });

  it("refuses a second concurrent transfer with a clear error", async () => {
    const handler = new RecordingHandler();
    handler.stageDelayMs = 20;
    const [leader, follower] = await pair(handler);
    const third = await startNode(3);
    nodes.push(third);
    third.transport.addPeer(2, follower.address);
    const first = leader.transport.sendSnapshot(
      2,
      { term: 3, records: exportOf(40, makeRows(2_000)), metaAt },
      { chunkBytesTarget: 16 * 1024 },
    );
    await waitFor(() => handler.events.length === 1, "first transfer started");
    const second = await rejection(
      third.transport.sendSnapshot(2, { term: 3, records: exportOf(41, makeRows(10)), metaAt }),
    );
    expect(second).toBeInstanceOf(SnapshotSendError);
    expect((second as SnapshotSendError).status).toBe(status.RESOURCE_EXHAUSTED);
    expect((second as SnapshotSendError).details).toMatch(
      /^node 2 is already receiving snapshot \d+ from node 1; one snapshot at a time/,
    );
    expect((await first).rows).toBe(2_000);
  });

  it("runs one outbound transfer per peer", async () => {
    const handler = new RecordingHandler();
    handler.stageDelayMs = 10;
    const [leader] = await pair(handler);
    const first = leader.transport.sendSnapshot(
      2,
      { term: 3, records: exportOf(40, makeRows(500)), metaAt },
      { chunkBytesTarget: 16 * 1024 },
    );
    await expect(
      leader.transport.sendSnapshot(2, { term: 3, records: exportOf(40, []), metaAt }),
    ).rejects.toThrow(SnapshotBusyError);
    await first;
  });

  it("reports a refusing handler as FAILED_PRECONDITION without aborting", async () => {
    const handler = new RecordingHandler();
    handler.refuse = "an install is still pending";
    const [leader] = await pair(handler);
    const failure = await rejection(
      leader.transport.sendSnapshot(2, { term: 3, records: exportOf(40, makeRows(10)), metaAt }),
    );
    expect((failure as SnapshotSendError).status).toBe(status.FAILED_PRECONDITION);
    expect((failure as SnapshotSendError).details).toBe(
      "snapshot refused by node 2: an install is still pending",
    );
    expect(handler.events).toHaveLength(1);
  });

  it("is refused by a node without a handler, and not sent over a cut link", async () => {
    const [a, b] = await startCluster([1, 2]);
    nodes.push(a!, b!);
    const refused = await rejection(
      a!.transport.sendSnapshot(2, { term: 3, records: exportOf(40, []), metaAt }),
    );
    expect((refused as SnapshotSendError).status).toBe(status.FAILED_PRECONDITION);
    expect((refused as SnapshotSendError).details).toMatch(/takes no snapshots/);
    a!.transport.faults.cut(2, "out");
    const cut = await rejection(
      a!.transport.sendSnapshot(2, { term: 3, records: exportOf(40, []), metaAt }),
    );
    expect((cut as SnapshotSendError).status).toBe(status.UNAVAILABLE);
  });

  it("aborts the staging of a transfer cut short by the receiver stopping", async () => {
    const handler = new RecordingHandler();
    handler.stageDelayMs = 10;
    const [leader, follower] = await pair(handler);
    const sending = rejection(
      leader.transport.sendSnapshot(
        2,
        { term: 3, records: exportOf(40, makeRows(2_000)), metaAt },
        { chunkBytesTarget: 16 * 1024 },
      ),
    );
    await waitFor(() => handler.staged.length > 0, "rows staged");
    await follower.transport.stop();
    expect(handler.events[1]).toMatch(/^abort \d+: snapshot transfer cut short/);
    expect(await sending).toBeInstanceOf(SnapshotSendError);
  });
});
