// history.jsonl: one Op per line, fields in a fixed order so files diff well.
//
// Public API:
//   function encodeOp(op: Op): string
//   function encodeHistory(history: History): string
//   function decodeHistory(text: string): Op[]      (throws HistoryError)
//
// Decoding validates every record, because a checker fed a malformed history
// would report nonsense; `index` must equal the record's position.

import { type History, HistoryError, type Op, type OpType } from "./op.js";

const OP_TYPES: ReadonlySet<string> = new Set<OpType>(["invoke", "ok", "fail", "info"]);

export function encodeOp(op: Op): string {
  // Built field by field: a fixed order, and `undefined` fields left out.
  const record: Record<string, unknown> = {
    index: op.index,
    time: op.time,
    process: op.process,
    type: op.type,
    f: op.f,
  };
  if (op.key !== undefined) record.key = op.key;
  if (op.value !== undefined) record.value = op.value;
  if (op.node !== undefined) record.node = op.node;
  if (op.error !== undefined) record.error = op.error;
  return JSON.stringify(record);
}

export function encodeHistory(history: History): string {
  return history.map((op) => `${encodeOp(op)}\n`).join("");
}

export function decodeHistory(text: string): Op[] {
  const ops: Op[] = [];
  const lines = text.split("\n");
  for (const [lineNo, line] of lines.entries()) {
    if (line.trim() === "") continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (err) {
      throw new HistoryError(ops.length, `line ${lineNo + 1} is not JSON: ${String(err)}`);
    }
    ops.push(toOp(parsed, ops.length));
  }
  return ops;
}

function toOp(raw: unknown, position: number): Op {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new HistoryError(position, "must be a JSON object");
  }
  const r = raw as Record<string, unknown>;
  const { index, time, process, type, f, key, value, node, error } = r;
  if (index !== position) {
    throw new HistoryError(position, `index must be ${position}, got ${JSON.stringify(index)}`);
  }
  if (typeof time !== "number" || !Number.isFinite(time) || time < 0) {
    throw new HistoryError(
      position,
      `time must be a finite number ≥ 0, got ${JSON.stringify(time)}`,
    );
  }
  if (typeof process !== "number" || !Number.isInteger(process)) {
    throw new HistoryError(position, `process must be an integer, got ${JSON.stringify(process)}`);
  }
  if (typeof type !== "string" || !OP_TYPES.has(type)) {
    throw new HistoryError(
      position,
      `type must be invoke|ok|fail|info, got ${JSON.stringify(type)}`,
    );
  }
  if (typeof f !== "string" || f === "") {
    throw new HistoryError(position, `f must be a non-empty string, got ${JSON.stringify(f)}`);
  }
  if (key !== undefined && typeof key !== "string") {
    throw new HistoryError(position, `key must be a string, got ${JSON.stringify(key)}`);
  }
  for (const [name, field] of [
    ["node", node],
    ["error", error],
  ] as const) {
    if (field !== undefined && typeof field !== "string") {
      throw new HistoryError(position, `${name} must be a string, got ${JSON.stringify(field)}`);
    }
  }
  const op: Op = { index, time, process, type: type as OpType, f };
  return {
    ...op,
    ...(key !== undefined ? { key } : {}),
    ...(value !== undefined ? { value } : {}),
    ...(typeof node === "string" ? { node } : {}),
    ...(typeof error === "string" ? { error } : {}),
  };
}
