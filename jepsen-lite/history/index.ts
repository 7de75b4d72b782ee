// The history model: the op record, its JSONL file format, pairing, recording.

export { decodeHistory, encodeHistory, encodeOp } from "./jsonl.js";
export { type History, HistoryError, type Op, type OpCounts, type OpType } from "./op.js";
export { countOutcomes, type Outcome, type PairedOp, pairHistory } from "./pair.js";
export { HistoryRecorder } from "./recorder.js";
