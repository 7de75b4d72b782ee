// Public entry point of src/transport: the peer transport, its fault hook,
// the wire codec and the generic grpc-js helpers other services reuse.

export {
  type Batch,
  decodeBatch,
  decodeMessage,
  encodeBatch,
  encodeMessage,
  wireUint,
} from "./codec.js";
export {
  ClusterMismatchError,
  FaultRulesError,
  ListenError,
  TRANSPORT_ERROR_STATUS,
  type TransportErrorCode,
  WireFormatError,
} from "./errors.js";
export {
  addTypedService,
  bidiMethod,
  type CallKind,
  callUnary,
  clientStreamMethod,
  type HandlerFor,
  type MessageCodec,
  openBidiStream,
  openClientStream,
  openServerStream,
  RAW_BYTES,
  type ServiceHandlers,
  serverStreamMethod,
  type TypedMethod,
  unaryMethod,
} from "./grpc-codec.js";
export {
  type LinkDirection,
  LinkFaults,
  type LinkFaultsDescription,
  type LinkRule,
  type LinkRuleDescription,
} from "./link-faults.js";
export type { PeerStats } from "./peer-stats.js";
export {
  type PeerCredentials,
  PeerTransport,
  type PeerTransportOptions,
  type SendSnapshotCallOptions,
} from "./peer-transport.js";
export {
  type SnapshotAck,
  type SnapshotHeader,
  type SnapshotRow,
  snapshotMessage,
} from "./snapshot-codec.js";
export {
  SNAPSHOT_ERROR_STATUS,
  SnapshotAbortedError,
  SnapshotBusyError,
  SnapshotChunkError,
  type SnapshotErrorCode,
  SnapshotIdleError,
  SnapshotRefusedError,
  SnapshotSendError,
  SnapshotStagingError,
} from "./snapshot-errors.js";
export {
  SNAPSHOT_IDLE_TIMEOUT_MS_DEFAULT,
  type SnapshotHandler,
  type SnapshotTotals,
} from "./snapshot-receiver.js";
export {
  type OutboundSnapshot,
  SNAPSHOT_CHUNK_BYTES_TARGET,
  SNAPSHOT_CHUNKS_IN_FLIGHT_MAX,
  type SnapshotSendResult,
  type SnapshotSendTestHooks,
  type SnapshotSourceRecord,
} from "./snapshot-sender.js";
export type { TransportLogger } from "./transport-logger.js";
