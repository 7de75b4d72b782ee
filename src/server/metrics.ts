// Prometheus metrics of one node (prom-client), named after etcd's where one
// exists (etcd_server_has_leader → cairn_server_has_leader) so dashboards map.
import {
  Counter,
  collectDefaultMetrics,
  exponentialBuckets,
  Gauge,
  Histogram,
  Registry,
} from "prom-client";
import { UNSAFE_SWITCHES, type UnsafeSwitches } from "./unsafe.js";

/** One peer's link figures, read when Prometheus scrapes. */
export interface PeerLinkSample {
  readonly peer: string;
  readonly roundTripMs: number | null;
  readonly lastContactMs: number | null;
  readonly bytesSent: number;
  readonly bytesReceived: number;
}

export class NodeMetrics {
  /** Set once the transport exists; the per-peer gauges read it at scrape time. */
  private peerSamples: () => readonly PeerLinkSample[] = () => [];
  readonly registry = new Registry();
  readonly hasLeader: Gauge;
  readonly isLeader: Gauge;
  readonly leaderChanges: Counter;
  readonly term: Gauge;
  readonly commitIndex: Gauge;
  readonly appliedIndex: Gauge;
  readonly proposalsCommitted: Counter;
  readonly proposalsApplied: Counter;
  readonly proposalsPending: Gauge;
  readonly proposalsFailed: Counter;
  readonly snapshots: Counter;
  readonly snapshotsSent: Counter;
  readonly snapshotsInstalled: Counter;
  readonly walFsyncSeconds: Histogram;
  readonly walBatchEntries: Histogram;
  readonly diskWritesPaused: Gauge;
  readonly peerRoundTripSeconds: Gauge;
  readonly peerLastContactSeconds: Gauge;
  readonly peerSentBytes: Gauge;
  readonly peerReceivedBytes: Gauge;
  readonly readIndexSeconds: Histogram;
  readonly unsafeSwitch: Gauge;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "cairn_" });
    this.hasLeader = new Gauge({
      name: "cairn_server_has_leader",
      help: "1 if a leader is known",
      registers,
    });
    this.isLeader = new Gauge({
      name: "cairn_server_is_leader",
      help: "1 if this member leads",
      registers,
    });
    this.leaderChanges = new Counter({
      name: "cairn_server_leader_changes_seen_total",
      help: "leader changes seen by this member",
      registers,
    });
    this.term = new Gauge({ name: "cairn_raft_term", help: "current Raft term", registers });
    this.commitIndex = new Gauge({
      name: "cairn_raft_commit_index",
      help: "Raft commit index",
      registers,
    });
    this.appliedIndex = new Gauge({
      name: "cairn_raft_applied_index",
      help: "last applied index",
      registers,
    });
    this.proposalsCommitted = new Counter({
      name: "cairn_server_proposals_committed_total",
      help: "normal entries committed (seen by this member)",
      registers,
    });
    this.proposalsApplied = new Counter({
      name: "cairn_server_proposals_applied_total",
      help: "normal entries applied by this member",
      registers,
    });
    this.proposalsPending = new Gauge({
      name: "cairn_server_proposals_pending",
      help: "local proposals waiting to be applied",
      registers,
    });
    this.proposalsFailed = new Counter({
      name: "cairn_server_proposals_failed_total",
      help: "local proposals that failed (no leader, timeout, dropped)",
      labelNames: ["reason"],
      registers,
    });
    this.snapshots = new Counter({
      name: "cairn_server_snapshots_total",
      help: "snapshot points recorded (each followed by log compaction)",
      registers,
    });
    this.snapshotsSent = new Counter({
      name: "cairn_server_snapshots_sent_total",
      help: "state snapshots streamed to followers, by outcome",
      labelNames: ["outcome"],
      registers,
    });
    this.snapshotsInstalled = new Counter({
      name: "cairn_server_snapshots_installed_total",
      help: "state snapshots received from the leader and installed",
      registers,
    });
    this.walFsyncSeconds = new Histogram({
      name: "cairn_disk_wal_fsync_duration_seconds",
      help: "duration of the synced Raft log batch per Ready",
      buckets: exponentialBuckets(0.0001, 2, 16),
      registers,
    });
    // Group commit at work: proposals that arrive during a sync share the next batch.
    this.walBatchEntries = new Histogram({
      name: "cairn_disk_wal_batch_entries",
      help: "log entries per synced Raft log batch (0: hard state only)",
      buckets: [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers,
    });
    this.diskWritesPaused = new Gauge({
      name: "cairn_disk_writes_paused",
      help: "1 while the disk is full: writes are refused and retried, reads still served",
      registers,
    });
    this.readIndexSeconds = new Histogram({
      name: "cairn_server_read_index_duration_seconds",
      help: "time for a linearizable read barrier",
      buckets: exponentialBuckets(0.0001, 2, 16),
      registers,
    });
    this.unsafeSwitch = new Gauge({
      name: "cairn_unsafe_switch",
      help: "1 if this test-only bug (--unsafe) is planted in this member: it is not safe",
      labelNames: ["switch"],
      registers,
    });
    for (const name of UNSAFE_SWITCHES) this.unsafeSwitch.set({ switch: name }, 0);
    const metrics = this;
    const peerGauge = (name: string, help: string): Gauge =>
      new Gauge({
        name,
        help,
        labelNames: ["peer"],
        registers,
        collect() {
          this.reset();
          metrics.samplePeers();
        },
      });
    this.peerRoundTripSeconds = peerGauge(
      "cairn_network_peer_round_trip_time_seconds",
      "peer stream RTT",
    );
    this.peerLastContactSeconds = peerGauge(
      "cairn_network_peer_last_contact_seconds",
      "seconds since heard",
    );
    this.peerSentBytes = peerGauge("cairn_network_peer_sent_bytes_total", "bytes sent to peer");
    this.peerReceivedBytes = peerGauge(
      "cairn_network_peer_received_bytes_total",
      "bytes received from peer",
    );
  }

  /** Marks the planted bugs, so a harness can check they are on before trusting a run. */
  setUnsafeSwitches(switches: UnsafeSwitches): void {
    for (const name of UNSAFE_SWITCHES) {
      this.unsafeSwitch.set({ switch: name }, switches.has(name) ? 1 : 0);
    }
  }

  bindPeers(sampler: () => readonly PeerLinkSample[]): void {
    this.peerSamples = sampler;
  }

  private samplePeers(): void {
    const nowMs = Date.now();
    for (const sample of this.peerSamples()) {
      const labels = { peer: sample.peer };
      if (sample.roundTripMs !== null)
        this.peerRoundTripSeconds.set(labels, sample.roundTripMs / 1000);
      if (sample.lastContactMs !== null) {
        this.peerLastContactSeconds.set(labels, (nowMs - sample.lastContactMs) / 1000);
      }
      this.peerSentBytes.set(labels, sample.bytesSent);
      this.peerReceivedBytes.set(labels, sample.bytesReceived);
    }
  }
}
