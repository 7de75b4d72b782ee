// `cairn log`: the newest operation-log records (oldest of them first), with
// filters by resource, actor, action and time; --follow keeps printing new
// ones, resuming exactly after the last record shown.
import type { Command } from "commander";
import type { Cairn } from "../client/client.js";
import type { OpLogFilter, OpLogRecord } from "../client/types.js";
import { type GlobalOptions, withClient } from "./context.js";
import { formatTime, parseInteger, parseTime } from "./parse.js";
import { formatTable } from "./table.js";

interface LogFlags {
  readonly resource?: string;
  readonly actor?: string;
  readonly action?: string;
  readonly target?: string;
  readonly since?: string;
  readonly until?: string;
  readonly limit: string;
  readonly follow?: boolean;
}

const HEADERS = ["SEQ", "TIME", "ACTOR", "ACTION", "TARGET", "OUTCOME"];

function row(record: OpLogRecord): string[] {
  return [
    String(record.sequence),
    formatTime(record.atMs),
    record.actor,
    record.action,
    record.target,
    record.outcome,
  ];
}

function filterFrom(flags: LogFlags): OpLogFilter {
  const nowMs = Date.now();
  return {
    ...(flags.resource === undefined ? {} : { resourceId: flags.resource }),
    ...(flags.actor === undefined ? {} : { actor: flags.actor }),
    ...(flags.action === undefined ? {} : { action: flags.action }),
    ...(flags.target === undefined ? {} : { target: flags.target }),
    ...(flags.since === undefined ? {} : { fromMs: parseTime("--since", flags.since, nowMs) }),
    ...(flags.until === undefined ? {} : { toMs: parseTime("--until", flags.until, nowMs) }),
  };
}

/** The newest `limit` matching records, oldest first, and where a follow resumes. */
async function newest(
  client: Cairn,
  filter: OpLogFilter,
  limit: number,
): Promise<{ records: OpLogRecord[]; nextSequence: number }> {
  const records: OpLogRecord[] = [];
  let nextSequence = 0;
  let token = "";
  for (let pages = 0; pages < 10_000 && records.length < limit; pages++) {
    const page = await client.opLog.page(token, {
      filter,
      order: "descending",
      pageSize: Math.min(500, limit - records.length),
    });
    if (pages === 0) nextSequence = page.lastSequence + 1;
    records.push(...page.items);
    if (page.nextPageToken === "") break;
    token = page.nextPageToken;
  }
  return { records: records.slice(0, limit).reverse(), nextSequence };
}

async function follow(
  client: Cairn,
  options: GlobalOptions,
  filter: OpLogFilter,
  sinceSequence: number,
): Promise<void> {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const watch = client.opLog.watch({ filter, sinceSequence, signal: controller.signal });
  try {
    for await (const record of watch) {
      const line = options.json ? JSON.stringify(record) : row(record).join("  ");
      process.stdout.write(`${line}\n`);
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    watch.close();
  }
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** "30d", "12h", "90m" → ms (the server checks 1 minute..10 years). */
export function parseRetentionAge(raw: string): number {
  const match = /^(\d+)([mhd])$/.exec(raw.trim());
  if (match === null) {
    throw new Error(`--max-age must be a duration such as 30d, 12h or 90m, got "${raw}"`);
  }
  return Number(match[1]) * (DURATION_UNITS_MS[match[2] as string] as number);
}

function registerRetention(log: Command, program: Command): void {
  log
    .command("retention")
    .description(
      "admins: how many operation-log records to keep, and for how long (defaults 100000, 30d)",
    )
    .requiredOption("--max-records <n>", "keep at most n records (100..10000000)")
    .requiredOption(
      "--max-age <duration>",
      "drop records older than this: 30d, 12h, 90m (1m..10 years)",
    )
    .action((flags: { maxRecords: string; maxAge: string }) =>
      withClient(program, "required", async (client, options) => {
        const maxRecords = parseInteger("--max-records", flags.maxRecords, 100, 10_000_000);
        const result = await client.opLog.setRetention({
          maxRecords,
          maxAgeMs: parseRetentionAge(flags.maxAge),
        });
        process.stdout.write(
          options.json
            ? `${JSON.stringify(result)}\n`
            : `retention: ${result.maxRecords} records, ${result.maxAgeMs / 3_600_000} h; pruned ${result.pruned}\n`,
        );
      }),
    );
}

export function registerLogCommand(program: Command): void {
  const log = program
    .command("log")
    .description("the operation log: who did what to which resource, and how it went")
    .option("--resource <id>", "only this resource")
    .option("--actor <username>", "only this user's operations")
    .option("--action <action>", 'only this action, e.g. "resource.start"')
    .option("--target <target>", 'only this target, e.g. "lock/deploy"')
    .option("--since <time>", "from this time: 10m, 2h, 7d ago, or an ISO time")
    .option("--until <time>", "before this time (same forms)")
    .option("--limit <n>", "show the newest n records", "50")
    .option("-f, --follow", "keep printing new records (Ctrl-C stops)")
    .action((flags: LogFlags) =>
      withClient(program, "required", async (client, options) => {
        const filter = filterFrom(flags);
        const limit = parseInteger("--limit", flags.limit, 1, 100_000);
        const { records, nextSequence } = await newest(client, filter, limit);
        if (options.json && flags.follow !== true) {
          process.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
        } else if (options.json) {
          for (const record of records) process.stdout.write(`${JSON.stringify(record)}\n`);
        } else {
          process.stdout.write(`${formatTable(HEADERS, records.map(row))}\n`);
        }
        if (flags.follow === true) await follow(client, options, filter, nextSequence);
      }),
    );
  registerRetention(log, program);
}
