// etcd's Watch service on the client port: the method definition, one
// WatchStream per gRPC call fed by a member-wide WatchHub, etcd's `hasleader`
// rule (refuse without a leader; cancel such streams after 3 leaderless
// election timeouts) and shutdown. Served locally by any member, no Raft round.
import type { Metadata, Server, ServerDuplexStream } from "@grpc/grpc-js";
import { etcdserverpb } from "../../gen/etcd.js";
import type { WatchEvent } from "../../state/index.js";
import { addTypedService, bidiMethod } from "../../transport/grpc-codec.js";
import { CairnError, toServiceError } from "../errors.js";
import { type WatchHistorySource, WatchHub } from "./watch-hub.js";
import type { ResponseHeader, WatchResponse } from "./watch-responses.js";
import {
  WATCH_STREAM_DEFAULTS,
  type WatchHeaderSource,
  WatchStream,
  type WatchStreamLimits,
} from "./watch-stream.js";

export const WATCH_SERVICE = {
  Watch: bidiMethod(
    "/etcdserverpb.Watch/Watch",
    etcdserverpb.WatchRequest,
    etcdserverpb.WatchResponse,
  ),
};

/** What the service needs of the member (RaftNode satisfies it). */
export interface WatchNode {
  readonly stateMachine: WatchHistorySource;
  /** 0 when this member knows no leader. */
  readonly leaderId: number;
  onApplied(listener: (events: readonly WatchEvent[], revision: number) => void): void;
  onLeadership(listener: () => void): void;
  /** Told after a snapshot install replaced the whole state. */
  onStateReplaced(listener: () => void): void;
}

export interface WatchServiceDeps {
  readonly node: WatchNode;
  readonly headers: WatchHeaderSource;
  readonly config: { readonly maxRequestBytes: number; readonly electionTimeoutMs: number };
  /** Overrides of the stream bounds and the progress_notify period (tests use short ones). */
  readonly limits?: Partial<WatchStreamLimits>;
  /** Open Watch streams this member serves at once (default WATCH_STREAMS_MAX). */
  readonly streamsMax?: number;
  /** Test-only planted bug (--unsafe watch-skip): each stream drops every Nth event. */
  readonly skipEveryEvents?: number;
}

export interface WatchService {
  readonly hub: WatchHub;
  readonly streamCount: number;
  /** Ends every stream with "server stopped" so clients move to another member. */
  close(): void;
}

/** etcd's grpcOverheadBytes: fragments are cut at max-request-bytes plus this. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;
/** etcd's maxNoLeaderCnt: leaderless election timeouts before `hasleader` streams end. */
const NO_LEADER_TIMEOUTS_MAX = 3;
/**
 * Each stream's queue is bounded (WatchStreamLimits), so the count of streams
 * is what bounds the member's watch memory; past it a new stream is refused,
 * as the platform streams are (PLATFORM_STREAMS_MAX).
 */
export const WATCH_STREAMS_MAX = 10_000;

type WatchCall = ServerDuplexStream<etcdserverpb.WatchRequest, WatchResponse>;

interface OpenStream {
  readonly stream: WatchStream;
  readonly call: WatchCall;
  readonly requiresLeader: boolean;
}

function requiresLeader(metadata: Metadata): boolean {
  return metadata.get("hasleader").some((value) => String(value) === "true");
}

/** Ends a call with an etcd error status (grpc-js turns an 'error' event into the status). */
function failCall(call: WatchCall, error: CairnError): void {
  call.emit("error", toServiceError(error));
}

/** One header object per revision until the term may have changed. */
function memoizedHeaders(source: WatchHeaderSource, node: WatchNode): WatchHeaderSource {
  let cached: ResponseHeader | null = null;
  node.onLeadership(() => {
    cached = null;
  });
  return {
    header: (revision) => {
      if (cached === null || cached.revision !== revision) cached = source.header(revision);
      return cached;
    },
  };
}

export function registerWatchService(server: Server, deps: WatchServiceDeps): WatchService {
  // Through the node each time: an installed snapshot replaces the state machine.
  const node = deps.node;
  const hub = new WatchHub({
    get kv() {
      return node.stateMachine.kv;
    },
    eventsSince: (query) => node.stateMachine.eventsSince(query),
  });
  deps.node.onApplied((events, revision) => hub.publish(events, revision));
  deps.node.onStateReplaced(() => hub.replaced());
  const headers = memoizedHeaders(deps.headers, deps.node);
  const limits: WatchStreamLimits = {
    ...WATCH_STREAM_DEFAULTS,
    fragmentBytesMax: deps.config.maxRequestBytes + GRPC_OVERHEAD_BYTES,
    ...deps.limits,
  };
  const open = new Set<OpenStream>();
  const streamsMax = deps.streamsMax ?? WATCH_STREAMS_MAX;
  const serve = (call: WatchCall): void => {
    if (open.size >= streamsMax) {
      failCall(call, new CairnError("TOO_MANY_REQUESTS"));
      return;
    }
    const leaderRequired = requiresLeader(call.metadata);
    if (leaderRequired && deps.node.leaderId === 0) {
      failCall(call, new CairnError("NO_LEADER"));
      return;
    }
    const sink = {
      write: (response: WatchResponse) => call.destroyed || call.write(response),
      pauseRequests: () => call.pause(),
      resumeRequests: () => call.resume(),
    };
    const stream = new WatchStream({
      hub,
      headers,
      sink,
      limits,
      schedule: (task) => setImmediate(task),
      ...(deps.skipEveryEvents === undefined ? {} : { skipEveryEvents: deps.skipEveryEvents }),
    });
    const entry: OpenStream = { stream, call, requiresLeader: leaderRequired };
    open.add(entry);
    const finish = (): void => {
      stream.close();
      open.delete(entry);
    };
    call.on("data", (request: etcdserverpb.WatchRequest) => stream.handle(request));
    call.on("drain", () => stream.onDrain());
    // A half-close keeps the stream, as in etcd: watchers deliver until the call ends.
    call.on("cancelled", finish);
    call.on("close", finish);
    call.on("error", finish);
  };
  addTypedService(server, WATCH_SERVICE, { Watch: serve });
  const monitor = monitorLeader(deps, open);
  return {
    hub,
    get streamCount() {
      return open.size;
    },
    close: () => {
      clearInterval(monitor);
      for (const entry of [...open]) {
        entry.stream.close();
        open.delete(entry);
        failCall(entry.call, new CairnError("STOPPED"));
      }
    },
  };
}

/** etcd's monitorLeader: `hasleader` streams end once the member has had no leader for a while. */
function monitorLeader(deps: WatchServiceDeps, open: Set<OpenStream>): NodeJS.Timeout {
  let leaderlessTimeouts = 0;
  const timer = setInterval(() => {
    leaderlessTimeouts = deps.node.leaderId === 0 ? leaderlessTimeouts + 1 : 0;
    if (leaderlessTimeouts < NO_LEADER_TIMEOUTS_MAX) return;
    for (const entry of [...open]) {
      if (!entry.requiresLeader) continue;
      entry.stream.close();
      open.delete(entry);
      failCall(entry.call, new CairnError("NO_LEADER"));
    }
  }, deps.config.electionTimeoutMs);
  timer.unref();
  return timer;
}
