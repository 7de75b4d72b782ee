// Regression: protobufjs decoded int64 fields as Long objects at runtime even
// though the typings (from --force-number) said number. proto/gen.mjs now
// unsets util.Long in every generated module.
import { describe, expect, it } from "vitest";
import { etcdserverpb } from "../../src/gen/etcd.js";
import { cairn } from "../../src/gen/raft.js";

describe("generated codecs decode 64-bit integers as numbers", () => {
  it("etcd int64 and uint64 fields", () => {
    const bytes = etcdserverpb.RangeRequest.encode({
      key: Buffer.from("k"),
      limit: 7,
      revision: 2 ** 40,
    }).finish();
    const decoded = etcdserverpb.RangeRequest.decode(bytes);
    expect(typeof decoded.limit).toBe("number");
    expect(decoded.revision).toBe(2 ** 40);
    expect(typeof decoded.minModRevision).toBe("number");
    const header = etcdserverpb.ResponseHeader.decode(
      etcdserverpb.ResponseHeader.encode({ clusterId: 2 ** 47 + 3, revision: 9 }).finish(),
    );
    expect(header.clusterId).toBe(2 ** 47 + 3);
    expect(header.revision + 1).toBe(10);
  });

  it("raft peer messages", () => {
    const batch = cairn.raft.v1.MessageBatch.decode(
      cairn.raft.v1.MessageBatch.encode({ from: 5, clusterId: 2 ** 45, pingId: 3 }).finish(),
    );
    expect(batch.pingId + 1).toBe(4);
    expect(batch.clusterId).toBe(2 ** 45);
  });
});

// Regression: raft.js and cairn.js both define the `cairn` namespace; on one
// shared protobufjs root the module loaded last replaced the other's, and
// decoding cairn.v1 messages threw "Error deserializing request".
describe("generated modules keep separate roots", () => {
  it("cairn.v1 and cairn.raft.v1 messages both decode when both modules are loaded", async () => {
    const { cairn: platform } = await import("../../src/gen/cairn.js");
    const status = platform.v1.NodeStatusResponse.decode(
      platform.v1.NodeStatusResponse.encode({
        name: "n1",
        peers: [{ id: 2, name: "n2" }],
      }).finish(),
    );
    expect(status.peers[0]?.name).toBe("n2");
    expect(platform.v1.NodeStatusRequest.decode(new Uint8Array(0))).toBeInstanceOf(
      platform.v1.NodeStatusRequest,
    );
    // Nested types resolve through the root: decode a batch holding messages and entries.
    const batch = cairn.raft.v1.MessageBatch.decode(
      cairn.raft.v1.MessageBatch.encode({
        from: 1,
        messages: [{ type: 5, to: 2, from: 1, entries: [{ term: 1, index: 1, kind: 1 }] }],
      }).finish(),
    );
    expect(batch.messages[0]?.entries?.[0]?.index).toBe(1);
  });
});
