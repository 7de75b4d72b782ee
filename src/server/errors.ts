// The closed registry of errors a client can see: a stable code, the gRPC
// status and the message. etcd-compatible errors use etcd 3.4's exact strings
// (clients match on them, see reference/etcd-v3.md §1.3).
import { status as GrpcStatus, Metadata, type ServiceError } from "@grpc/grpc-js";

export const ERRORS = {
  NO_LEADER: { status: GrpcStatus.UNAVAILABLE, message: "etcdserver: no leader" },
  LEADER_CHANGED: { status: GrpcStatus.UNAVAILABLE, message: "etcdserver: leader changed" },
  TIMEOUT: { status: GrpcStatus.UNAVAILABLE, message: "etcdserver: request timed out" },
  STOPPED: { status: GrpcStatus.UNAVAILABLE, message: "etcdserver: server stopped" },
  // etcd 3.4 has no gRPC mapping for this one (clients see UNKNOWN); cairn
  // keeps etcd's string and uses the code of its other "request timed out"s.
  LEADER_TRANSFER_TIMEOUT: {
    status: GrpcStatus.UNAVAILABLE,
    message: "etcdserver: request timed out, leader transfer took too long",
  },
  TOO_MANY_REQUESTS: {
    status: GrpcStatus.RESOURCE_EXHAUSTED,
    message: "etcdserver: too many requests",
  },
  KEY_NOT_PROVIDED: {
    status: GrpcStatus.INVALID_ARGUMENT,
    message: "etcdserver: key is not provided",
  },
  VALUE_PROVIDED: { status: GrpcStatus.INVALID_ARGUMENT, message: "etcdserver: value is provided" },
  LEASE_PROVIDED: { status: GrpcStatus.INVALID_ARGUMENT, message: "etcdserver: lease is provided" },
  KEY_NOT_FOUND: { status: GrpcStatus.INVALID_ARGUMENT, message: "etcdserver: key not found" },
  REQUEST_TOO_LARGE: {
    status: GrpcStatus.INVALID_ARGUMENT,
    message: "etcdserver: request is too large",
  },
  LEASE_NOT_FOUND: {
    status: GrpcStatus.NOT_FOUND,
    message: "etcdserver: requested lease not found",
  },
  FUTURE_REV: {
    status: GrpcStatus.OUT_OF_RANGE,
    message: "etcdserver: mvcc: required revision is a future revision",
  },
  COMPACTED: {
    status: GrpcStatus.OUT_OF_RANGE,
    message: "etcdserver: mvcc: required revision has been compacted",
  },
  DUPLICATE_KEY: {
    status: GrpcStatus.INVALID_ARGUMENT,
    message: "etcdserver: duplicate key given in txn request",
  },
  TOO_MANY_OPS: {
    status: GrpcStatus.INVALID_ARGUMENT,
    message: "etcdserver: too many operations in txn request",
  },
  LEASE_EXISTS: {
    status: GrpcStatus.FAILED_PRECONDITION,
    message: "etcdserver: lease already exists",
  },
  LEASE_TTL_TOO_LARGE: {
    status: GrpcStatus.OUT_OF_RANGE,
    message: "etcdserver: too large lease TTL",
  },
  NO_SPACE: {
    status: GrpcStatus.RESOURCE_EXHAUSTED,
    message: "etcdserver: mvcc: database space exceeded",
  },
  // This member's disk is full (cairn's own; etcd would crash). The detail
  // names the data dir. Writes: nothing was proposed, another member may
  // take it. Linearizable reads: this member cannot serve them until it can
  // write, so UNAVAILABLE sends clients to another member.
  NO_SPACE_ON_DEVICE: { status: GrpcStatus.RESOURCE_EXHAUSTED, message: "" },
  NO_SPACE_ON_DEVICE_READ: { status: GrpcStatus.UNAVAILABLE, message: "" },
  CORRUPT: { status: GrpcStatus.DATA_LOSS, message: "etcdserver: corrupt cluster" },
  NOT_LEADER: { status: GrpcStatus.FAILED_PRECONDITION, message: "etcdserver: not leader" },
  BAD_LEADER_TRANSFEREE: {
    status: GrpcStatus.FAILED_PRECONDITION,
    message: "etcdserver: bad leader transferee",
  },
  MEMBER_NOT_FOUND: { status: GrpcStatus.NOT_FOUND, message: "etcdserver: member not found" },
  MEMBER_ID_EXISTS: {
    status: GrpcStatus.FAILED_PRECONDITION,
    message: "etcdserver: member ID already exist",
  },
  PEER_URL_EXISTS: {
    status: GrpcStatus.FAILED_PRECONDITION,
    message: "etcdserver: Peer URLs already exists",
  },
  MEMBER_NOT_LEARNER: {
    status: GrpcStatus.FAILED_PRECONDITION,
    message: "etcdserver: can only promote a learner member",
  },
  LEARNER_NOT_READY: {
    status: GrpcStatus.FAILED_PRECONDITION,
    message: "etcdserver: can only promote a learner member which is in sync with leader",
  },
  TOO_MANY_LEARNERS: {
    status: GrpcStatus.FAILED_PRECONDITION,
    message: "etcdserver: too many learner members in cluster",
  },
  NOT_ENOUGH_STARTED_MEMBERS: {
    status: GrpcStatus.FAILED_PRECONDITION,
    message: "etcdserver: re-configuration failed due to not enough started members",
  },
  CONF_CHANGE_PENDING: {
    status: GrpcStatus.UNAVAILABLE,
    message: "etcdserver: a membership change is still in progress; retry",
  },
  MEMBER_REMOVED: {
    status: GrpcStatus.FAILED_PRECONDITION,
    message: "etcdserver: the member has been permanently removed from the cluster",
  },
  PERMISSION_DENIED: {
    status: GrpcStatus.PERMISSION_DENIED,
    message: "etcdserver: permission denied",
  },
  NOT_IMPLEMENTED: { status: GrpcStatus.UNIMPLEMENTED, message: "" },
  INVALID_ARGUMENT: { status: GrpcStatus.INVALID_ARGUMENT, message: "" },
  // cairn.v1 (platform API): the message is the detail, written for a person.
  UNAUTHENTICATED: { status: GrpcStatus.UNAUTHENTICATED, message: "" },
  ACCESS_DENIED: { status: GrpcStatus.PERMISSION_DENIED, message: "" },
  NOT_FOUND: { status: GrpcStatus.NOT_FOUND, message: "" },
  ALREADY_EXISTS: { status: GrpcStatus.ALREADY_EXISTS, message: "" },
  FAILED_PRECONDITION: { status: GrpcStatus.FAILED_PRECONDITION, message: "" },
  ABORTED: { status: GrpcStatus.ABORTED, message: "" },
  DEADLINE_EXCEEDED: { status: GrpcStatus.DEADLINE_EXCEEDED, message: "" },
  UNAVAILABLE: { status: GrpcStatus.UNAVAILABLE, message: "" },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class CairnError extends Error {
  override readonly name = "CairnError";
  readonly code: ErrorCode;
  readonly grpcStatus: GrpcStatus;

  constructor(code: ErrorCode, detail?: string) {
    const entry = ERRORS[code];
    super(entry.message === "" ? (detail ?? code) : entry.message);
    this.code = code;
    this.grpcStatus = entry.status;
  }
}

export function invalidArgument(message: string): CairnError {
  return new CairnError("INVALID_ARGUMENT", message);
}

/** Converts anything thrown in a handler into a gRPC error; unknown errors become INTERNAL. */
export function toServiceError(error: unknown): Partial<ServiceError> {
  if (error instanceof CairnError) {
    return { code: error.grpcStatus, details: error.message, metadata: new Metadata() };
  }
  if (error instanceof ForwardedError) {
    return { code: error.code, details: error.details, metadata: new Metadata() };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: GrpcStatus.INTERNAL,
    details: `internal error: ${message}`,
    metadata: new Metadata(),
  };
}

/** The leader's answer to a request this member forwarded to it, passed on unchanged. */
export class ForwardedError extends Error {
  override readonly name = "ForwardedError";
  constructor(
    readonly code: GrpcStatus,
    readonly details: string,
  ) {
    super(details);
  }
}
