// Turns a member's JSON log line into one readable line for the launcher's
// combined output: "n1 14:03:22.123 INFO  leader changed leader=n2".

const LEVELS: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO ",
  40: "WARN ",
  50: "ERROR",
  60: "FATAL",
};
const OMIT = new Set(["level", "time", "pid", "hostname", "node", "msg"]);

export function formatLogLine(member: string, line: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${member} ${line}`;
  }
  const time =
    typeof record.time === "number" ? new Date(record.time).toISOString().slice(11, 23) : "";
  const level = LEVELS[record.level as number] ?? String(record.level);
  const fields = Object.entries(record)
    .filter(([key]) => !OMIT.has(key))
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" ");
  return `${member} ${time} ${level} ${String(record.msg ?? "")}${fields ? ` ${fields}` : ""}`;
}
