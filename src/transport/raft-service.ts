// The cairn.raft.v1.Raft service as grpc-js sees it, and the channel/server
// options of the peer port. Both methods carry raw bytes: codec.ts and
// snapshot-codec.ts frame and validate them, so a bad frame becomes our own
// typed rejection and byte counts are exact without encoding twice.

import type { ChannelOptions, ServerOptions } from "@grpc/grpc-js";
import { bidiMethod, RAW_BYTES } from "./grpc-codec.js";

export const RAFT_STREAM_METHOD = bidiMethod("/cairn.raft.v1.Raft/Stream", RAW_BYTES, RAW_BYTES);

/** One snapshot transfer: SnapshotChunk frames in, SnapshotAck frames out (snapshot-codec.ts). */
export const RAFT_INSTALL_SNAPSHOT_METHOD = bidiMethod(
  "/cairn.raft.v1.Raft/InstallSnapshot",
  RAW_BYTES,
  RAW_BYTES,
);

export const RAFT_SERVICE = {
  Stream: RAFT_STREAM_METHOD,
  InstallSnapshot: RAFT_INSTALL_SNAPSHOT_METHOD,
} as const;

/** Room for a batch of large MsgApp entries or an inline snapshot. */
export const PEER_MESSAGE_BYTES_MAX = 64 * 1024 * 1024;

/** HTTP/2 keepalive notices a dead peer (half-open TCP) within ~15 s on a LAN. */
const KEEPALIVE_TIME_MS = 10_000;
const KEEPALIVE_TIMEOUT_MS = 5_000;

export const PEER_CHANNEL_OPTIONS: ChannelOptions = {
  "grpc.max_send_message_length": PEER_MESSAGE_BYTES_MAX,
  "grpc.max_receive_message_length": PEER_MESSAGE_BYTES_MAX,
  "grpc.keepalive_time_ms": KEEPALIVE_TIME_MS,
  "grpc.keepalive_timeout_ms": KEEPALIVE_TIMEOUT_MS,
  "grpc.keepalive_permit_without_calls": 1,
  // Our own loop retries the stream with backoff; keep the channel's
  // reconnect backoff in the same range so it never lags ours by minutes.
  "grpc.initial_reconnect_backoff_ms": 50,
  "grpc.max_reconnect_backoff_ms": 2_000,
  // Each transport owns its connections, so two nodes in one process (tests)
  // never share a subchannel and a restart really reconnects.
  "grpc.use_local_subchannel_pool": 1,
  // A stream is never replayed; don't buffer its writes for retries.
  "grpc.enable_retries": 0,
};

export const PEER_SERVER_OPTIONS: ServerOptions = {
  "grpc.max_send_message_length": PEER_MESSAGE_BYTES_MAX,
  "grpc.max_receive_message_length": PEER_MESSAGE_BYTES_MAX,
  "grpc.keepalive_time_ms": KEEPALIVE_TIME_MS,
  "grpc.keepalive_timeout_ms": KEEPALIVE_TIMEOUT_MS,
  "grpc.keepalive_permit_without_calls": 1,
};
