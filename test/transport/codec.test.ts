import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cairn } from "../../src/gen/raft.js";
import type { Entry, Message, MessageType, Snapshot } from "../../src/raft/types.js";
import {
  type Batch,
  decodeAck,
  decodeBatch,
  decodeMessage,
  encodeAck,
  encodeBatch,
  encodeMessage,
  wireUint,
} from "../../src/transport/codec.js";
import { WireFormatError } from "../../src/transport/errors.js";

const wire = cairn.raft.v1;

const ALL_TYPES: readonly MessageType[] = [
  "MsgHup",
  "MsgBeat",
  "MsgCheckQuorum",
  "MsgProp",
  "MsgApp",
  "MsgAppResp",
  "MsgVote",
  "MsgVoteResp",
  "MsgPreVote",
  "MsgPreVoteResp",
  "MsgHeartbeat",
  "MsgHeartbeatResp",
  "MsgReadIndex",
  "MsgReadIndexResp",
  "MsgSnap",
  "MsgSnapStatus",
  "MsgUnreachable",
  "MsgTransferLeader",
  "MsgTimeoutNow",
];

// Mostly small values, sometimes past 2^32 (where a Long's high word matters).
const uint = fc.oneof(
  fc.nat({ max: 1_000 }),
  fc.constantFrom(0, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER),
  fc.maxSafeNat(),
);
const id = fc.integer({ min: 1, max: 2 ** 40 });
const bytes = fc.uint8Array({ maxLength: 64 });

const entry: fc.Arbitrary<Entry> = fc.record({
  term: uint,
  index: uint,
  kind: fc.constantFrom("normal" as const, "conf-change" as const),
  data: bytes,
});

const snapshot: fc.Arbitrary<Snapshot> = fc.record({
  meta: fc.record({
    index: uint,
    term: uint,
    confState: fc.record({
      voters: fc.array(id, { maxLength: 5 }),
      learners: fc.array(id, { maxLength: 3 }),
    }),
  }),
  data: bytes,
});

const messageArb: fc.Arbitrary<Message> = fc.record({
  type: fc.constantFrom(...ALL_TYPES),
  to: id,
  from: id,
  term: uint,
  logTerm: uint,
  index: uint,
  entries: fc.array(entry, { maxLength: 4 }),
  commit: uint,
  reject: fc.boolean(),
  rejectHint: uint,
  context: bytes,
  snapshot: fc.option(snapshot, { nil: null }),
});

function wireError(run: () => unknown): WireFormatError {
  try {
    run();
  } catch (error) {
    if (error instanceof WireFormatError) return error;
    throw error;
  }
  throw new Error("expected a WireFormatError");
}

describe("codec", () => {
  it("round-trips every message unchanged (property)", () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        expect(decodeMessage(encodeMessage(m))).toEqual(m);
      }),
      { numRuns: 300 },
    );
  });

  it("round-trips each MessageType, including with binary entries and a snapshot", () => {
    for (const type of ALL_TYPES) {
      fc.assert(
        fc.property(messageArb, (m) => {
          const typed = { ...m, type };
          expect(decodeMessage(encodeMessage(typed))).toEqual(typed);
        }),
        { numRuns: 20 },
      );
    }
  });

  it("round-trips batches, keeping message order and the ping id", () => {
    const batchArb: fc.Arbitrary<Batch> = fc.record({
      from: id,
      clusterId: uint,
      pingId: uint,
      messages: fc.array(messageArb, { maxLength: 6 }),
    });
    fc.assert(
      fc.property(batchArb, (batch) => {
        expect(decodeBatch(encodeBatch(batch))).toEqual(batch);
      }),
      { numRuns: 100 },
    );
  });

  it("decodes into plain Uint8Arrays that do not share the frame's memory", () => {
    const m: Message = {
      ...(fc.sample(messageArb, { numRuns: 1, seed: 1 })[0] as Message),
      entries: [{ term: 1, index: 1, kind: "normal", data: Uint8Array.of(1, 2, 3) }],
    };
    const frame = encodeMessage(m);
    const decoded = decodeMessage(frame);
    frame.fill(0);
    expect(decoded.entries[0]?.data).toEqual(Uint8Array.of(1, 2, 3));
    expect(Object.getPrototypeOf(decoded.entries[0]?.data)).toBe(Uint8Array.prototype);
  });

  it("round-trips acks", () => {
    expect(decodeAck(encodeAck(1))).toBe(1);
    expect(decodeAck(encodeAck(2 ** 40 + 5))).toBe(2 ** 40 + 5);
    expect(decodeAck(new Uint8Array(0))).toBe(0);
  });

  it("rejects an unknown message type with the field path", () => {
    const frame = wire.Message.encode({
      type: 99 as cairn.raft.v1.MessageType,
      to: 1,
      from: 2,
    }).finish();
    const error = wireError(() => decodeMessage(frame));
    expect(error.field).toBe("message.type");
    expect(error.message).toMatch(/unknown message type 99/);
    const unspecified = wire.Message.encode({ type: 0, to: 1 }).finish();
    expect(wireError(() => decodeMessage(unspecified)).field).toBe("message.type");
  });

  it("rejects an unknown or missing entry kind", () => {
    for (const kind of [0, 7]) {
      const frame = wire.MessageBatch.encode({
        from: 2,
        messages: [{ type: wire.MessageType.MESSAGE_TYPE_APP, entries: [{}, { kind }] }],
      }).finish();
      const error = wireError(() => decodeBatch(frame));
      expect(error.field).toBe("batch.messages[0].entries[0].kind");
    }
  });

  it("rejects a snapshot without meta or conf state", () => {
    const type = wire.MessageType.MESSAGE_TYPE_SNAP;
    const noMeta = wire.Message.encode({ type, snapshot: { data: Uint8Array.of(1) } }).finish();
    expect(wireError(() => decodeMessage(noMeta)).field).toBe("message.snapshot.meta");
    const noConf = wire.Message.encode({ type, snapshot: { meta: { index: 3 } } }).finish();
    expect(wireError(() => decodeMessage(noConf)).field).toBe("message.snapshot.meta.confState");
  });

  it("rejects integers beyond 2^53 instead of rounding them", () => {
    const type = wire.MessageType.MESSAGE_TYPE_APP;
    // 2^60 as a uint64 varint, hand-built so no JS number rounding is involved.
    const term = wire.Message.encode({ type }).finish();
    const frame = Uint8Array.from([
      ...term,
      0x20,
      0x80,
      0x80,
      0x80,
      0x80,
      0x80,
      0x80,
      0x80,
      0x80,
      0x10,
    ]);
    const error = wireError(() => decodeMessage(frame));
    expect(error.field).toBe("message.term");
  });

  it("turns undecodable bytes into a WireFormatError, not a crash", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (garbage) => {
        try {
          decodeBatch(garbage);
        } catch (error) {
          expect(error).toBeInstanceOf(WireFormatError);
        }
      }),
      { numRuns: 500 },
    );
    expect(wireError(() => decodeBatch(Uint8Array.of(0xff, 0xff, 0xff))).field).toBe("batch");
  });

  it("asserts on values the core must never produce", () => {
    const bad = { ...(fc.sample(messageArb, { numRuns: 1, seed: 2 })[0] as Message), term: -1 };
    expect(() => encodeMessage(bad)).toThrow(/message.term must not be negative/);
    const fractional = { ...bad, term: 1.5 };
    expect(() => encodeMessage(fractional)).toThrow(/safe integer/);
  });

  it("wireUint accepts numbers and Long-shaped values, and nothing else", () => {
    expect(wireUint(5, "f")).toBe(5);
    expect(wireUint({ low: -1, high: 0, unsigned: true }, "f")).toBe(2 ** 32 - 1);
    expect(wireUint({ low: 1, high: 1 }, "f")).toBe(2 ** 32 + 1);
    expect(wireError(() => wireUint({ low: 0, high: 2 ** 21 }, "f")).field).toBe("f");
    expect(wireError(() => wireUint(-1, "f")).message).toMatch(/0..2\^53-1/);
    expect(wireError(() => wireUint("7", "f")).message).toMatch(/unsigned integer/);
  });
});
