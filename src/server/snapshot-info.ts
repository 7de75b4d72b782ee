// Reading a snapshot file offline (`cairn snapshot status`, `save`'s check
// and `restore`): the whole file is verified (magic, structure, SHA-256
// trailer) and its rows are loaded into a state machine for a summary, which
// also proves they load. Every failure names the file and what is wrong.
import { readFile } from "node:fs/promises";
import type { StateRow } from "../state/restore-rows.js";
import { type StateSummary, summarizeState } from "../state/state-summary.js";
import { decodeSnapshot, SnapshotFileError } from "../storage/snapshot-file.js";

export type { StateSummary };

export class SnapshotReadError extends Error {
  override readonly name = "SnapshotReadError";
}

export interface SnapshotContents {
  readonly path: string;
  readonly sizeBytes: number;
  /** SHA-256 of the file's body, as its trailer holds it (hex). */
  readonly sha256: string;
  /** The applied index of the member that produced it (an index of that cluster's log). */
  readonly appliedIndex: number;
  readonly rows: readonly StateRow[];
}

export interface SnapshotInfo extends Omit<SnapshotContents, "rows"> {
  readonly summary: StateSummary;
}

const DIGEST_BYTES = 32;

export async function readSnapshotFile(path: string): Promise<SnapshotContents> {
  let file: Buffer;
  try {
    file = await readFile(path);
  } catch (error) {
    throw new SnapshotReadError(`cannot read snapshot ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    const decoded = decodeSnapshot(file);
    return {
      path,
      sizeBytes: file.byteLength,
      sha256: file.subarray(file.byteLength - DIGEST_BYTES).toString("hex"),
      appliedIndex: decoded.appliedIndex,
      rows: decoded.rows,
    };
  } catch (error) {
    if (error instanceof SnapshotFileError) {
      throw new SnapshotReadError(`snapshot ${path} is unusable: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
}

/** Loads rows into a fresh state machine; a row that does not load is a SnapshotReadError. */
export function summarizeSnapshotRows(path: string, rows: readonly StateRow[]): StateSummary {
  try {
    return summarizeState(rows);
  } catch (error) {
    throw new SnapshotReadError(
      `snapshot ${path} is unusable: its checksum is right but a state row does not load ` +
        `(${(error as Error).message}); was it saved by a newer cairn?`,
      { cause: error },
    );
  }
}

export async function snapshotInfo(path: string): Promise<SnapshotInfo> {
  const { rows, ...contents } = await readSnapshotFile(path);
  return { ...contents, summary: summarizeSnapshotRows(path, rows) };
}
