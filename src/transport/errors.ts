// Typed operating errors of the peer transport: bad bytes from a peer, a peer
// from another cluster, bad fault rules from an operator, a port we cannot
// bind. Each carries a stable `code`; messages may change, codes do not.

import { status } from "@grpc/grpc-js";

export type TransportErrorCode =
  | "CAIRN_TRANSPORT_WIRE_FORMAT"
  | "CAIRN_TRANSPORT_CLUSTER_MISMATCH"
  | "CAIRN_TRANSPORT_FAULT_RULES"
  | "CAIRN_TRANSPORT_LISTEN";

/** The gRPC status a peer sees when we reject its stream for this reason. */
export const TRANSPORT_ERROR_STATUS: Readonly<Record<TransportErrorCode, status>> = {
  CAIRN_TRANSPORT_WIRE_FORMAT: status.INVALID_ARGUMENT,
  CAIRN_TRANSPORT_CLUSTER_MISMATCH: status.FAILED_PRECONDITION,
  CAIRN_TRANSPORT_FAULT_RULES: status.INVALID_ARGUMENT,
  CAIRN_TRANSPORT_LISTEN: status.UNAVAILABLE,
};

/**
 * Thrown when bytes or a decoded frame from a peer do not form a valid
 * cairn.raft.v1 value (undecodable protobuf, unknown enum, integer beyond
 * 2^53, missing required sub-message, a message not addressed to us).
 * `field` is the dotted path of the offending value.
 */
export class WireFormatError extends Error {
  override readonly name = "WireFormatError";
  readonly code = "CAIRN_TRANSPORT_WIRE_FORMAT";
  constructor(
    readonly field: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Thrown when a peer's batch names a different cluster id than ours. */
export class ClusterMismatchError extends Error {
  override readonly name = "ClusterMismatchError";
  readonly code = "CAIRN_TRANSPORT_CLUSTER_MISMATCH";
  constructor(
    readonly expectedClusterId: number,
    readonly actualClusterId: number,
  ) {
    super(
      `cluster id mismatch: this node is in cluster ${expectedClusterId}, peer sent ${actualClusterId}`,
    );
  }
}

/** Thrown by LinkFaults when a rule set or a rule value is invalid; `path` locates it. */
export class FaultRulesError extends Error {
  override readonly name = "FaultRulesError";
  readonly code = "CAIRN_TRANSPORT_FAULT_RULES";
  constructor(
    readonly path: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Thrown by PeerTransport.start() when the peer port cannot be bound. */
export class ListenError extends Error {
  override readonly name = "ListenError";
  readonly code = "CAIRN_TRANSPORT_LISTEN";
  constructor(
    readonly address: string,
    options?: ErrorOptions,
  ) {
    super(`cannot listen on peer address ${address}`, options);
  }
}
