// End-to-end tests run real member processes through cluster/process-cluster,
// with the test-only fault hooks switched on.
import { existsSync, readFileSync, statSync } from "node:fs";
import { type ClusterOptions, ProcessCluster, sleep } from "../../cluster/process-cluster.js";

export const TestCluster = {
  start: (options: ClusterOptions): Promise<ProcessCluster> =>
    ProcessCluster.start({ faultHooks: true, ...options }),
};
export type TestCluster = ProcessCluster;
export { sleep };

/** Where each member's log ends now, to read only what is written after. */
export type LogMarks = ReadonlyMap<string, number>;

export function markLogs(cluster: TestCluster): LogMarks {
  return new Map(
    cluster.members.map((m) => [m.name, existsSync(m.logFile) ? statSync(m.logFile).size : 0]),
  );
}

export interface LogRecord {
  readonly node: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** The JSON log records every member wrote since `marks` whose message is `msg`. */
export function logRecordsSince(cluster: TestCluster, marks: LogMarks, msg: string): LogRecord[] {
  const records: LogRecord[] = [];
  for (const member of cluster.members) {
    if (!existsSync(member.logFile)) continue;
    const text = readFileSync(member.logFile)
      .subarray(marks.get(member.name) ?? 0)
      .toString();
    for (const line of text.split("\n")) {
      if (!line.startsWith("{")) continue;
      const record = JSON.parse(line) as LogRecord;
      if (record.msg === msg) records.push({ ...record, node: member.name });
    }
  }
  return records;
}

/**
 * Every real election (a candidacy, which bumps the term) started since
 * `marks`, with why: "timeout-now" is a leadership transfer, anything else an
 * election timeout (after a successful pre-vote).
 */
export function candidaciesSince(
  cluster: TestCluster,
  marks: LogMarks,
): { node: string; term: number; reason: string }[] {
  return logRecordsSince(cluster, marks, "raft became-candidate").map((r) => ({
    node: r.node,
    term: Number(r.term),
    reason: String(r.reason),
  }));
}
