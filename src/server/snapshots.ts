// The shell's side of InstallSnapshot. The Raft core only says "send peer P
// a snapshot" (an outgoing MsgSnap whose data is empty in cairn) and, on a
// follower, "install this snapshot" (Ready.snapshot). Here:
//  - Shipping: a MsgSnap starts a stream of the leader's CURRENT applied
//    state (as etcd does: the stored snapshot point may predate the
//    configuration that added P); its outcome is reported to the core.
//  - Receiving: rows are staged in the data dir as they arrive; when all
//    arrived intact, a MsgSnap carrying the stream's meta is stepped into the
//    core, which decides whether to install it.
import type { LogIndex, Message, NodeId, SnapshotMeta, Term } from "../raft/types.js";
import { emptyMessage } from "../raft/types.js";
import type { StateExportRecord } from "../storage/index.js";
import type { SnapshotHandler } from "../transport/snapshot-receiver.js";
import type { OutboundSnapshot, SnapshotSendResult } from "../transport/snapshot-sender.js";
import type { Logger } from "./logger.js";
import type { NodeMetrics } from "./metrics.js";

export interface SnapshotShippingDeps {
  /** PeerTransport.sendSnapshot: its own connection, link faults applied. */
  readonly sendSnapshot: (
    peer: NodeId,
    snapshot: OutboundSnapshot,
    signal: AbortSignal,
  ) => Promise<SnapshotSendResult>;
  readonly currentTerm: () => Term;
  readonly exportState: () => AsyncIterable<StateExportRecord>;
  readonly metaAt: (appliedIndex: LogIndex) => SnapshotMeta;
  /** Tells the Raft core how the send ended. */
  readonly report: (peer: NodeId, ok: boolean) => void;
  readonly logger: Logger;
  readonly metrics: NodeMetrics;
}

/** At most one stream per peer; the core waits for the report before asking again. */
export class SnapshotShipping {
  private readonly sending = new Map<NodeId, AbortController>();

  constructor(private readonly deps: SnapshotShippingDeps) {}

  send(message: Message): void {
    const peer = message.to;
    if (this.sending.has(peer)) return;
    const controller = new AbortController();
    this.sending.set(peer, controller);
    const started = performance.now();
    this.deps.logger.info({ peer: peer.toString(16) }, "sending a snapshot");
    const snapshot: OutboundSnapshot = {
      term: this.deps.currentTerm(),
      records: this.deps.exportState(),
      metaAt: this.deps.metaAt,
    };
    this.deps.sendSnapshot(peer, snapshot, controller.signal).then(
      (result) => {
        this.sending.delete(peer);
        this.deps.metrics.snapshotsSent.inc({ outcome: "ok" });
        this.deps.logger.info(
          {
            peer: peer.toString(16),
            index: result.meta.index,
            rows: result.rows,
            bytes: result.bytes,
            ms: Math.round(performance.now() - started),
          },
          "snapshot sent",
        );
        this.deps.report(peer, true);
      },
      (error: unknown) => {
        this.sending.delete(peer);
        this.deps.metrics.snapshotsSent.inc({ outcome: "failed" });
        this.deps.logger.warn({ peer: peer.toString(16), err: error }, "snapshot send failed");
        this.deps.report(peer, false);
      },
    );
  }

  stop(): void {
    for (const controller of this.sending.values()) controller.abort();
    this.sending.clear();
  }
}

export interface SnapshotReceivingDeps {
  readonly selfId: NodeId;
  readonly begin: (transferId: number) => Promise<void>;
  readonly stage: (
    rows: readonly { table: string; key: Uint8Array; value: Uint8Array }[],
  ) => Promise<void>;
  readonly abort: () => Promise<void>;
  /** Steps the MsgSnap into the core once every row is staged. */
  readonly deliver: (message: Message) => void;
  readonly logger: Logger;
}

/** The receiver's handler: stage, then hand the snapshot's meta to the core. */
export function snapshotHandler(deps: SnapshotReceivingDeps): SnapshotHandler {
  return {
    begin: (header) => {
      deps.logger.info(
        { from: header.from.toString(16), index: header.meta.index },
        "receiving a snapshot",
      );
      return deps.begin(header.transferId);
    },
    stage: (_header, rows) =>
      deps.stage(
        rows.map((row) => ({
          table: row.table,
          key: Uint8Array.from(row.key),
          value: Uint8Array.from(row.value),
        })),
      ),
    complete: async (header, totals) => {
      deps.logger.info({ index: header.meta.index, rows: totals.rows }, "snapshot staged");
      deps.deliver({
        ...emptyMessage("MsgSnap", header.from, deps.selfId, header.term),
        snapshot: { meta: header.meta, data: new Uint8Array(0) },
      });
    },
    abort: (_header, reason) => {
      deps.logger.warn({ err: reason }, "snapshot transfer failed; staged rows dropped");
      return deps.abort();
    },
  };
}
