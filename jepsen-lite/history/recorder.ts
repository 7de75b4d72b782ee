// Builds a history as a workload runs: assigns indexes, stamps times from an
// injected clock, and keeps the per-process discipline (one open op per
// process; a process that got `info` is retired).
//
// Public API:
//   class HistoryRecorder {
//     constructor(now: () => number)                    (ms since run start, monotonic)
//     invoke(process: number, f: string, key?: string, value?: unknown): Op
//     complete(invocation: Op, type: "ok" | "fail" | "info", value?: unknown): Op
//     readonly ops: readonly Op[]
//   }

import { assert } from "../../src/util/assert.js";
import type { Op } from "./op.js";

export class HistoryRecorder {
  private readonly records: Op[] = [];
  private readonly open = new Map<number, Op>();
  private readonly retired = new Set<number>();

  /** `now` should read process.hrtime right before the send and right after the reply. */
  constructor(private readonly now: () => number) {}

  get ops(): readonly Op[] {
    return this.records;
  }

  invoke(process: number, f: string, key?: string, value?: unknown): Op {
    assert(!this.retired.has(process), `process ${process} was retired by an info completion`);
    assert(!this.open.has(process), `process ${process} already has an op in flight`);
    const op = this.append({
      process,
      type: "invoke",
      f,
      ...(key !== undefined ? { key } : {}),
      ...(value !== undefined ? { value } : {}),
    });
    this.open.set(process, op);
    return op;
  }

  complete(invocation: Op, type: "ok" | "fail" | "info", value?: unknown): Op {
    assert(
      this.open.get(invocation.process) === invocation,
      `record ${invocation.index} is not in flight`,
    );
    this.open.delete(invocation.process);
    if (type === "info") this.retired.add(invocation.process);
    return this.append({
      process: invocation.process,
      type,
      f: invocation.f,
      ...(invocation.key !== undefined ? { key: invocation.key } : {}),
      ...(value !== undefined ? { value } : {}),
    });
  }

  private append(op: Omit<Op, "index" | "time">): Op {
    const record: Op = { ...op, time: this.now(), index: this.records.length };
    this.records.push(record);
    return record;
  }
}
