// Encodings of the node's metadata records (hard state, conf state, snapshot
// metadata, plain counters), each a framed payload (see record-codec.ts). All
// integers are u64 BE; node id lists are a u32 count followed by the ids.

import type { ConfState, HardState, NodeId, SnapshotMeta } from "../raft/types.js";
import { assert } from "../util/assert.js";
import { FrameWriter, openFrame, type PayloadReader, RecordDecodeError } from "./record-codec.js";

const U64_BYTES = 8;
const HARD_STATE_PAYLOAD_BYTES = 3 * U64_BYTES;
/** Far above any real cluster; a larger count means a damaged record, not a big cluster. */
const CONF_NODES_MAX = 10_000;

export function encodeHardState(key: Uint8Array, hardState: HardState): Uint8Array {
  return new FrameWriter(HARD_STATE_PAYLOAD_BYTES)
    .u64(hardState.term)
    .u64(hardState.vote)
    .u64(hardState.commit)
    .seal(key);
}

export function decodeHardState(key: Uint8Array, value: Uint8Array): HardState {
  const reader = openFrame(key, value);
  const hardState = { term: reader.u64(), vote: reader.u64(), commit: reader.u64() };
  reader.end();
  return hardState;
}

function confStateBytes(confState: ConfState): number {
  return 4 + confState.voters.length * U64_BYTES + 4 + confState.learners.length * U64_BYTES;
}

function writeNodes(writer: FrameWriter, nodes: readonly NodeId[]): void {
  assert(nodes.length <= CONF_NODES_MAX, `conf state has ${nodes.length} nodes`);
  writer.u32(nodes.length);
  for (const node of nodes) {
    writer.u64(node);
  }
}

function readNodes(reader: PayloadReader): NodeId[] {
  const count = reader.u32();
  if (count > CONF_NODES_MAX || count * U64_BYTES > reader.remainingBytes()) {
    throw new RecordDecodeError(`node count ${count} does not fit the record`);
  }
  const nodes: NodeId[] = [];
  for (let i = 0; i < count; i++) {
    nodes.push(reader.u64());
  }
  return nodes;
}

function readConfState(reader: PayloadReader): ConfState {
  const voters = readNodes(reader);
  const learners = readNodes(reader);
  return { voters, learners };
}

export function encodeConfState(key: Uint8Array, confState: ConfState): Uint8Array {
  const writer = new FrameWriter(confStateBytes(confState));
  writeNodes(writer, confState.voters);
  writeNodes(writer, confState.learners);
  return writer.seal(key);
}

export function decodeConfState(key: Uint8Array, value: Uint8Array): ConfState {
  const reader = openFrame(key, value);
  const confState = readConfState(reader);
  reader.end();
  return confState;
}

/** Payload bytes of a snapshot meta, for records that embed one (install-marker.ts). */
export function snapshotMetaBytes(meta: SnapshotMeta): number {
  return 2 * U64_BYTES + confStateBytes(meta.confState);
}

export function writeSnapshotMeta(writer: FrameWriter, meta: SnapshotMeta): void {
  writer.u64(meta.index).u64(meta.term);
  writeNodes(writer, meta.confState.voters);
  writeNodes(writer, meta.confState.learners);
}

export function readSnapshotMeta(reader: PayloadReader): SnapshotMeta {
  const index = reader.u64();
  const term = reader.u64();
  const confState = readConfState(reader);
  return { index, term, confState };
}

export function encodeSnapshotMeta(key: Uint8Array, meta: SnapshotMeta): Uint8Array {
  const writer = new FrameWriter(snapshotMetaBytes(meta));
  writeSnapshotMeta(writer, meta);
  return writer.seal(key);
}

export function decodeSnapshotMeta(key: Uint8Array, value: Uint8Array): SnapshotMeta {
  const reader = openFrame(key, value);
  const meta = readSnapshotMeta(reader);
  reader.end();
  return meta;
}

/** Applied index, log start and format version: one non-negative integer. */
export function encodeCounter(key: Uint8Array, value: number): Uint8Array {
  return new FrameWriter(U64_BYTES).u64(value).seal(key);
}

export function decodeCounter(key: Uint8Array, value: Uint8Array): number {
  const reader = openFrame(key, value);
  const counter = reader.u64();
  reader.end();
  return counter;
}
