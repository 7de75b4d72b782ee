// Per-peer link counters, written by the outbound stream (sends, acks) and
// the inbound handler (received batches), read as immutable PeerStats.

export interface PeerStats {
  /** Our outbound stream to the peer is established (the peer answered it). */
  readonly connected: boolean;
  /** Date.now() when anything last arrived from the peer on either stream. */
  readonly lastContactMs: number | null;
  /** Latest ping round trip on our outbound stream. */
  readonly roundTripMs: number | null;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  /** Messages discarded because the outbound queue was full or they went stale in it. */
  readonly messagesDropped: number;
}

export class PeerCounters {
  connected = false;
  lastContactMs: number | null = null;
  roundTripMs: number | null = null;
  bytesSent = 0;
  bytesReceived = 0;
  messagesDropped = 0;

  /** Something arrived from the peer: `byteCount` bytes at wall time `nowMs`. */
  recordReceived(byteCount: number, nowMs: number): void {
    this.bytesReceived += byteCount;
    this.lastContactMs = nowMs;
  }

  snapshot(): PeerStats {
    return {
      connected: this.connected,
      lastContactMs: this.lastContactMs,
      roundTripMs: this.roundTripMs,
      bytesSent: this.bytesSent,
      bytesReceived: this.bytesReceived,
      messagesDropped: this.messagesDropped,
    };
  }
}
