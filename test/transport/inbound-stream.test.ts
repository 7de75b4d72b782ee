// Hostile and malformed peers: frames are checked before anything reaches
// onMessages, a bad frame ends only that stream with an actionable status,
// and the node keeps serving honest peers.

import {
  Client,
  credentials,
  Metadata,
  Server,
  ServerCredentials,
  type StatusObject,
  status,
} from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { cairn } from "../../src/gen/raft.js";
import type { Message } from "../../src/raft/types.js";
import { type Batch, decodeAck, encodeBatch } from "../../src/transport/codec.js";
import { ClusterMismatchError, WireFormatError } from "../../src/transport/errors.js";
import { addTypedService, openBidiStream } from "../../src/transport/grpc-codec.js";
import { INBOUND_STREAMS_MAX, validateInboundBatch } from "../../src/transport/inbound-stream.js";
import { RAFT_STREAM_METHOD } from "../../src/transport/raft-service.js";
import {
  CLUSTER_ID,
  message,
  startCluster,
  startNode,
  stopAll,
  type TestNode,
  tagged,
  tags,
  waitFor,
} from "./helpers.js";

const nodes: TestNode[] = [];
const closers: (() => void)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0)) close();
  await stopAll(nodes.splice(0));
});

function batch(fields: Partial<Batch> = {}): Batch {
  return { from: 2, clusterId: CLUSTER_ID, pingId: 0, messages: [], ...fields };
}

interface RawStream {
  readonly acks: number[];
  readonly status: Promise<StatusObject>;
  write(bytes: Uint8Array): void;
}

/** A hand-driven peer: writes whatever bytes the test gives it. */
function rawStream(address: string): RawStream {
  const client = new Client(address, credentials.createInsecure());
  closers.push(() => client.close());
  const call = openBidiStream(client, RAFT_STREAM_METHOD);
  const acks: number[] = [];
  call.on("data", (bytes: Uint8Array) => acks.push(decodeAck(bytes)));
  call.on("error", () => {});
  const finished = new Promise<StatusObject>((resolve) => call.on("status", resolve));
  return { acks, status: finished, write: (bytes) => call.write(bytes) };
}

describe("validateInboundBatch", () => {
  const expected = { selfId: 1, clusterId: CLUSTER_ID, peer: null };

  it("accepts a batch from a peer to us and returns the sender", () => {
    expect(validateInboundBatch(batch({ messages: [tagged(2, 1, 1)] }), expected)).toBe(2);
  });

  it.each<[string, Batch, { selfId: number; clusterId: number; peer: number | null }, string]>([
    ["from 0", batch({ from: 0 }), expected, "batch.from"],
    ["from ourselves", batch({ from: 1 }), expected, "batch.from"],
    ["a sender change within a stream", batch({ from: 3 }), { ...expected, peer: 2 }, "batch.from"],
    [
      "a message for another node",
      batch({ messages: [tagged(2, 3, 1)] }),
      expected,
      "batch.messages[0].to",
    ],
    [
      "a forged message sender",
      batch({ messages: [tagged(3, 1, 1)] }),
      expected,
      "batch.messages[0].from",
    ],
    [
      "a local-only type",
      batch({ messages: [message("MsgHup", 2, 1)] }),
      expected,
      "batch.messages[0].type",
    ],
  ])("rejects %s", (_name, input, expectation, field) => {
    let error: unknown;
    try {
      validateInboundBatch(input, expectation);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(WireFormatError);
    expect((error as WireFormatError).field).toBe(field);
  });

  it("rejects another cluster's batch with a ClusterMismatchError", () => {
    expect(() => validateInboundBatch(batch({ clusterId: CLUSTER_ID + 1 }), expected)).toThrow(
      ClusterMismatchError,
    );
  });
});

describe("PeerTransport inbound streams", () => {
  it.each<[string, () => Uint8Array, status, RegExp]>([
    [
      "undecodable bytes",
      () => Uint8Array.of(0x1a, 0xff, 0xff, 0x7f),
      status.INVALID_ARGUMENT,
      /undecodable/,
    ],
    [
      "an unknown message type",
      () =>
        cairn.raft.v1.MessageBatch.encode({
          from: 2,
          clusterId: CLUSTER_ID,
          messages: [{ type: 99 as cairn.raft.v1.MessageType }],
        }).finish(),
      status.INVALID_ARGUMENT,
      /unknown message type 99/,
    ],
    [
      "another cluster",
      () => encodeBatch(batch({ clusterId: 99, messages: [tagged(2, 1, 1)] })),
      status.FAILED_PRECONDITION,
      /cluster id mismatch/,
    ],
    [
      "a message for another node",
      () => encodeBatch(batch({ messages: [tagged(2, 3, 1)] })),
      status.INVALID_ARGUMENT,
      /is for node 3/,
    ],
    [
      "a local-only message",
      () => encodeBatch(batch({ messages: [message("MsgBeat", 2, 1)] })),
      status.INVALID_ARGUMENT,
      /local-only/,
    ],
  ])(
    "ends the stream on %s, delivers nothing, and keeps serving",
    async (_name, frame, code, details) => {
      const [a, b] = (await startCluster([1, 2])) as [TestNode, TestNode];
      nodes.push(a, b);
      const raw = rawStream(a.address);

      raw.write(frame());
      raw.write(encodeBatch(batch({ messages: [tagged(2, 1, 666)] }))); // after the bad frame: ignored

      const final = await raw.status;
      expect(final.code).toBe(code);
      expect(final.details).toMatch(details);
      expect(a.logs.some((l) => l.msg === "rejected peer stream")).toBe(true);
      b.transport.send([tagged(2, 1, 1)]);
      await waitFor(() => a.received().length === 1, "honest peer's message");
      expect(tags(a.received())).toEqual([1]);
    },
  );

  it("delivers valid frames before a bad one and rejects a stream that changes sender", async () => {
    const a = await startNode(1);
    nodes.push(a);
    const raw = rawStream(a.address);

    raw.write(encodeBatch(batch({ messages: [tagged(2, 1, 1)] })));
    raw.write(encodeBatch(batch({ from: 3, messages: [tagged(3, 1, 2)] })));

    expect((await raw.status).code).toBe(status.INVALID_ARGUMENT);
    expect(tags(a.received())).toEqual([1]);
  });

  it("echoes ping ids so the sender can time the round trip", async () => {
    const a = await startNode(1);
    nodes.push(a);
    const raw = rawStream(a.address);
    raw.write(encodeBatch(batch({ pingId: 5 })));
    raw.write(encodeBatch(batch({ pingId: 2 ** 40 })));
    await waitFor(() => raw.acks.length === 2, "two acks");
    expect(raw.acks).toEqual([5, 2 ** 40]);
    expect(a.received()).toEqual([]);
  });

  it("drops a stream whose acks are garbage and retries, logging only real transitions", async () => {
    const fake = new Server();
    let streams = 0;
    addTypedService(
      fake,
      { Stream: RAFT_STREAM_METHOD },
      {
        Stream: (call) => {
          streams += 1;
          call.sendMetadata(new Metadata());
          call.on("data", () => call.write(Uint8Array.of(0xff, 0xff)));
          call.on("error", () => {});
        },
      },
    );
    const port = await new Promise<number>((resolve, reject) =>
      fake.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    closers.push(() => fake.forceShutdown());
    const a = await startNode(1, { peers: new Map([[2, `127.0.0.1:${port}`]]) });
    nodes.push(a);

    a.transport.send([tagged(1, 2, 1)]);
    await waitFor(() => a.logs.some((l) => l.msg === "bad ack from peer"), "bad ack noticed");
    await waitFor(() => streams >= 3, "reconnects");
    expect(a.unreachable).toContain(2);
    // Each log line is a real transition: up and down alternate, never repeat.
    const transitions = a.logs
      .filter((l) => l.msg === "peer up" || l.msg === "peer down")
      .map((l) => l.msg);
    expect(transitions.length).toBeGreaterThanOrEqual(2);
    transitions.forEach((msg, i) => {
      expect(msg).toBe(i % 2 === 0 ? "peer up" : "peer down");
    });
  });

  it("refuses streams beyond the inbound bound, and accepts again once one closes", async () => {
    const a = await startNode(1);
    nodes.push(a);
    const client = new Client(a.address, credentials.createInsecure());
    closers.push(() => client.close());
    const open = () => {
      const call = openBidiStream(client, RAFT_STREAM_METHOD);
      call.on("error", () => {});
      const acks: number[] = [];
      call.on("data", (bytes: Uint8Array) => acks.push(decodeAck(bytes)));
      const finished = new Promise<StatusObject>((resolve) => call.on("status", resolve));
      call.write(encodeBatch(batch({ pingId: 1 })));
      return { call, acks, finished };
    };
    const accepted = Array.from({ length: INBOUND_STREAMS_MAX }, open);
    await waitFor(() => accepted.every((s) => s.acks.length === 1), "every stream answered");

    const refused = open();
    const final = await refused.finished;
    expect(final.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(a.logs.some((l) => l.msg === "too many inbound peer streams")).toBe(true);

    accepted[0]?.call.end();
    await accepted[0]?.finished;
    const later = open();
    await waitFor(() => later.acks.length === 1, "a stream accepted after one closed");
    for (const s of [...accepted, later]) s.call.end();
  });

  it("never passes a message that is not for us to onMessages", async () => {
    const a = await startNode(1);
    nodes.push(a);
    const raw = rawStream(a.address);
    const good: Message = tagged(2, 1, 7);
    raw.write(encodeBatch(batch({ messages: [good, tagged(2, 5, 8)] })));
    await raw.status;
    expect(a.received()).toEqual([]);
  });
});
