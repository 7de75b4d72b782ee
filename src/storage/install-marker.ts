// The "snapshot install in progress" meta record (staged-install.ts). While it
// exists the data dir is between the old state and a received snapshot, and
// DiskStore.load() finishes the install before anything reads the state.
//
//   phase u8 (1 clear, 2 move) | stagingId u64 | snapshot meta (as meta-record.ts)

import type { SnapshotMeta } from "../raft/types.js";
import { assertNever } from "../util/assert.js";
import { readSnapshotMeta, snapshotMetaBytes, writeSnapshotMeta } from "./meta-record.js";
import { FrameWriter, openFrame, RecordDecodeError } from "./record-codec.js";

/**
 * clear: old state rows and log records are being deleted, nothing new is in place yet;
 * move: the state range holds only rows moved from staging, the rest still wait there.
 */
export type InstallPhase = "clear" | "move";

export interface InstallMarker {
  readonly phase: InstallPhase;
  /** The staging the rows came from (beginSnapshotStaging's id), for logs and diagnosis. */
  readonly stagingId: number;
  readonly meta: SnapshotMeta;
}

const PHASE_CLEAR = 1;
const PHASE_MOVE = 2;
const FIXED_PAYLOAD_BYTES = 1 + 8;

function phaseCode(phase: InstallPhase): number {
  switch (phase) {
    case "clear":
      return PHASE_CLEAR;
    case "move":
      return PHASE_MOVE;
    default:
      return assertNever(phase, "install phase");
  }
}

function phaseOfCode(code: number): InstallPhase {
  switch (code) {
    case PHASE_CLEAR:
      return "clear";
    case PHASE_MOVE:
      return "move";
    default:
      throw new RecordDecodeError(`unknown install phase code ${code}`);
  }
}

export function encodeInstallMarker(key: Uint8Array, marker: InstallMarker): Uint8Array {
  const writer = new FrameWriter(FIXED_PAYLOAD_BYTES + snapshotMetaBytes(marker.meta));
  writer.u8(phaseCode(marker.phase)).u64(marker.stagingId);
  writeSnapshotMeta(writer, marker.meta);
  return writer.seal(key);
}

export function decodeInstallMarker(key: Uint8Array, value: Uint8Array): InstallMarker {
  const reader = openFrame(key, value);
  const phase = phaseOfCode(reader.u8());
  const stagingId = reader.u64();
  const meta = readSnapshotMeta(reader);
  reader.end();
  return { phase, stagingId, meta };
}
