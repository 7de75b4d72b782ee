// Records the run's history as it happens: one JSONL line per invoke and per
// completion, times in ms since the run started (hrtime, taken right before
// the send and right after the reply), in the op shape of history/op.ts.
import { createWriteStream, type WriteStream } from "node:fs";
import type { Op, OpType } from "../history/op.js";

export type { OpType };
export type HistoryOp = Op;

/** Bounds the in-memory copy; a run that outgrows it is cut short, not swapped to death. */
export const HISTORY_OPS_MAX = 2_000_000;

export class History {
  readonly ops: HistoryOp[] = [];
  private readonly startNs: bigint;
  private readonly out: WriteStream | null;
  private nextProcess = 0;

  constructor(path: string | null, startNs: bigint = process.hrtime.bigint()) {
    this.startNs = startNs;
    this.out = path === null ? null : createWriteStream(path, { flags: "w" });
  }

  /** ms since the run started. */
  now(): number {
    return Number(process.hrtime.bigint() - this.startNs) / 1e6;
  }

  /** A fresh logical process id (a worker takes a new one after every info). */
  newProcess(): number {
    return this.nextProcess++;
  }

  get full(): boolean {
    return this.ops.length >= HISTORY_OPS_MAX;
  }

  record(op: Omit<HistoryOp, "time" | "index">): HistoryOp {
    const full: HistoryOp = { ...op, time: this.now(), index: this.ops.length };
    this.ops.push(full);
    this.out?.write(`${JSON.stringify(full)}\n`);
    return full;
  }

  async close(): Promise<void> {
    const out = this.out;
    if (out === null) return;
    await new Promise<void>((done) => out.end(() => done()));
  }
}
