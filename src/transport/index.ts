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
} from "./peer-transport.js";
export type { TransportLogger } from "./transport-logger.js";
