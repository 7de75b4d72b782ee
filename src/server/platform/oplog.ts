// cairn.v1.OpLog: the record of every platform mutation and refusal. List
// pages through the applied log (exact page tokens: records never change);
// Watch replays from since_sequence and then follows, both through the
// platform feed, which never lets a reader past the last published record.
import type { Server } from "@grpc/grpc-js";
import { cairn } from "../../gen/cairn.js";
import type { OpLogRecord } from "../../state/index.js";
import { addTypedService, serverStreamMethod, unaryMethod } from "../../transport/grpc-codec.js";
import { requireGrant } from "./auth.js";
import { currentHeader, header, type PlatformDeps } from "./deps.js";
import { authedUnary, type CallContext } from "./platform-call.js";
import { pageSize, recordToProto } from "./platform-codec.js";
import { expectResult, invalid, orThrow } from "./platform-errors.js";
import { authedStream, type PlatformStreams, type StreamContext } from "./platform-stream.js";
import { sortDescending } from "./resource-codec.js";

export const OPLOG_SERVICE = {
  List: unaryMethod("/cairn.v1.OpLog/List", cairn.v1.ListOpLogRequest, cairn.v1.ListOpLogResponse),
  SetRetention: unaryMethod(
    "/cairn.v1.OpLog/SetRetention",
    cairn.v1.SetRetentionRequest,
    cairn.v1.SetRetentionResponse,
  ),
  Watch: serverStreamMethod(
    "/cairn.v1.OpLog/Watch",
    cairn.v1.WatchOpLogRequest,
    cairn.v1.WatchOpLogResponse,
  ),
};

/** The filter as the state machine's query takes it ("" and 0 = any). */
export interface RecordFilter {
  readonly target: string;
  readonly actor: string;
  readonly action: string;
  readonly fromMs: number;
  readonly toMs: number;
}

export function recordFilter(
  filter: cairn.v1.OpLogFilter.$Properties | null | undefined,
): RecordFilter {
  const target = filter?.target ?? "";
  const resourceId = filter?.resourceId ?? "";
  if (resourceId !== "" && target !== "" && target !== `resource/${resourceId}`) {
    throw invalid(
      `filter.resource_id is a shortcut for target "resource/<id>"; got both resource_id ${JSON.stringify(resourceId)} and target ${JSON.stringify(target)}`,
    );
  }
  for (const [name, value] of [
    ["filter.from_ms", filter?.fromMs ?? 0],
    ["filter.to_ms", filter?.toMs ?? 0],
  ] as const) {
    if (!(Number.isSafeInteger(value) && value >= 0)) {
      throw invalid(`${name} must be 0 (none) or a time in ms, got ${value}`);
    }
  }
  return {
    target: resourceId === "" ? target : `resource/${resourceId}`,
    actor: filter?.actor ?? "",
    action: filter?.action ?? "",
    fromMs: filter?.fromMs ?? 0,
    toMs: filter?.toMs ?? 0,
  };
}

export function recordMatches(record: OpLogRecord, filter: RecordFilter): boolean {
  return (
    (filter.target === "" || record.target === filter.target) &&
    (filter.actor === "" || record.actor === filter.actor) &&
    (filter.action === "" || record.action === filter.action) &&
    (filter.fromMs === 0 || record.atMs >= filter.fromMs) &&
    (filter.toMs === 0 || record.atMs < filter.toMs)
  );
}

export class OpLogHandlers {
  constructor(private readonly deps: PlatformDeps) {}

  async list(
    request: cairn.v1.ListOpLogRequest,
    { caller }: CallContext,
  ): Promise<cairn.v1.ListOpLogResponse.$Properties> {
    requireGrant(caller, "oplog.read");
    const page = orThrow(
      this.deps.node.stateMachine.platform.listOpLog({
        ...recordFilter(request.filter),
        order: sortDescending(request.order) ? "desc" : "asc",
        pageSize: pageSize(request.pageSize),
        pageToken: request.pageToken,
      }),
    );
    return {
      header: currentHeader(this.deps),
      records: page.records.map(recordToProto),
      nextPageToken: page.nextPageToken,
      firstSequence: page.firstSequence,
      lastSequence: page.lastSequence,
    };
  }

  /** Retention is replicated: every member prunes the same records in the same apply. */
  async setRetention(
    request: cairn.v1.SetRetentionRequest,
    { caller }: CallContext,
  ): Promise<cairn.v1.SetRetentionResponse.$Properties> {
    requireGrant(caller, "oplog.manage");
    this.deps.gate.admit("delete");
    const result = await this.deps.node.propose({
      kind: "oplog-retention",
      actor: caller.username,
      maxRecords: request.maxRecords,
      maxAgeMs: request.maxAgeMs,
    });
    const { ok } = expectResult(result, "oplog-retention");
    return {
      header: header(this.deps, ok.revision),
      maxRecords: ok.retention.maxRecords,
      maxAgeMs: ok.retention.maxAgeMs,
      pruned: ok.pruned,
    };
  }

  async watch(
    request: cairn.v1.WatchOpLogRequest,
    context: StreamContext<cairn.v1.WatchOpLogResponse.$Properties>,
  ): Promise<void> {
    requireGrant(context.caller, "oplog.read");
    const filter = recordFilter(request.filter);
    const feed = this.deps.feed;
    let next = feed.startSequence(request.sinceSequence);
    // The first response confirms the watch and the revision it starts from.
    await context.write({ header: this.deps.headers.header(feed.revision), records: [] });
    for (;;) {
      const records = await feed.read(next, context.signal);
      next = (records[records.length - 1] as OpLogRecord).sequence + 1;
      const matching = records.filter((record) => recordMatches(record, filter));
      if (matching.length === 0) continue;
      await context.write({
        header: this.deps.headers.header(feed.revision),
        records: matching.map(recordToProto),
      });
    }
  }
}

export function registerOpLogService(
  server: Server,
  deps: PlatformDeps & { readonly streams: PlatformStreams },
): void {
  const handlers = new OpLogHandlers(deps);
  addTypedService(server, OPLOG_SERVICE, {
    List: authedUnary(deps, (r, c) => handlers.list(r, c)),
    SetRetention: authedUnary(deps, (r, c) => handlers.setRetention(r, c)),
    Watch: authedStream(deps, (r, c) => handlers.watch(r, c)),
  });
}
