// Who is calling: every cairn.v1 call but Register and Login carries
// `authorization: Bearer <token>`; the token's SHA-256 digest is looked up in
// the replicated session table, so any member can verify any token.
//
// Consistency: by default the lookup runs behind a linearizable barrier
// (ReadIndex), so a token works on every member as soon as Login returns and
// stops working on every member as soon as Logout (or a password change)
// returns. Reads that ask to be serializable verify against local state only
// and accept that a just-revoked token may pass on a lagging member for the
// replication delay; they also get no read-your-writes. The barrier of a
// linearizable read serves both the token check and the read itself.
import type { Metadata } from "@grpc/grpc-js";
import {
  type Action,
  authorizeRoles,
  type Role,
  type SessionIdentity,
  tokenDigest,
} from "../../state/index.js";
import { assert } from "../../util/assert.js";
import { CairnError } from "../errors.js";

export type Consistency = "linearizable" | "serializable";

/** The authenticated user behind a call, as the session table had it. */
export interface Caller {
  readonly username: string;
  readonly roles: readonly Role[];
  /** tokenDigest of the bearer token (Logout of the caller's own session). */
  readonly tokenHash: string;
  readonly expiresAtMs: number;
}

/** What authentication needs of the member (RaftNode satisfies it). */
export interface AuthNode {
  linearizableBarrier(): Promise<void>;
  readonly stateMachine: {
    readonly platform: { verifySession(tokenHash: string, nowMs: number): SessionIdentity | null };
  };
}

/** Tokens are 43 base64url characters; anything far longer is not one of ours. */
const TOKEN_CHARS_MAX = 256;
const TOKEN = /^[A-Za-z0-9._~+/=-]+$/;
const BEARER = /^bearer\s+(\S+)\s*$/i;

const LOGIN_HINT = "log in with `cairn user login`";
export const MISSING_CREDENTIALS = `missing credentials: ${LOGIN_HINT} and send the token as metadata "authorization: Bearer <token>"`;
export const MALFORMED_CREDENTIALS = `authorization metadata must be "Bearer <token>"; ${LOGIN_HINT} to get a token`;
export const INVALID_TOKEN = `the bearer token is invalid, expired or logged out; ${LOGIN_HINT} again`;

/**
 * The bearer token of a call: null when the call carries no authorization
 * metadata; throws UNAUTHENTICATED when it carries something else.
 */
export function bearerToken(metadata: Metadata): string | null {
  const values = metadata.get("authorization");
  if (values.length === 0) return null;
  if (values.length > 1) throw new CairnError("UNAUTHENTICATED", MALFORMED_CREDENTIALS);
  const header = String(values[0]);
  const token = BEARER.exec(header)?.[1];
  if (token === undefined || token.length > TOKEN_CHARS_MAX || !TOKEN.test(token)) {
    throw new CairnError("UNAUTHENTICATED", MALFORMED_CREDENTIALS);
  }
  return token;
}

export class Authenticator {
  constructor(
    private readonly node: AuthNode,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** See sessionAlive: a local check, no barrier. */
  alive(caller: Caller): boolean {
    return sessionAlive(this.node, caller, this.nowMs());
  }

  /** The caller of a call that must be authenticated. */
  async authenticate(metadata: Metadata, consistency: Consistency): Promise<Caller> {
    const token = bearerToken(metadata);
    if (token === null) throw new CairnError("UNAUTHENTICATED", MISSING_CREDENTIALS);
    return this.verify(token, consistency);
  }

  /** The caller if the call carries a token (Register: admins may grant roles), else null. */
  async authenticateIfPresent(metadata: Metadata): Promise<Caller | null> {
    const token = bearerToken(metadata);
    return token === null ? null : this.verify(token, "linearizable");
  }

  async verify(token: string, consistency: Consistency): Promise<Caller> {
    if (consistency === "linearizable") await this.node.linearizableBarrier();
    const tokenHash = tokenDigest(token);
    const identity = this.node.stateMachine.platform.verifySession(tokenHash, this.nowMs());
    if (identity === null) throw new CairnError("UNAUTHENTICATED", INVALID_TOKEN);
    assert(identity.user.roles.length > 0, `user ${identity.user.username} has no role`);
    return {
      username: identity.user.username,
      roles: identity.user.roles,
      tokenHash,
      expiresAtMs: identity.expiresAtMs,
    };
  }
}

/**
 * Whether the caller's session still verifies on local state: long-lived
 * streams check it before each response, so Logout (or expiry) also ends
 * what a token opened, at the latest when it would next receive data.
 */
export function sessionAlive(node: AuthNode, caller: Caller, nowMs: number = Date.now()): boolean {
  return node.stateMachine.platform.verifySession(caller.tokenHash, nowMs) !== null;
}

export function isAllowed(caller: Caller, action: Action): boolean {
  return authorizeRoles(caller.roles, action);
}

/**
 * Refuses early what apply would refuse anyway (and, for reads, what nothing
 * else checks): the same wording as the state machine's permission-denied.
 */
export function requireGrant(caller: Caller, action: Action): void {
  if (!isAllowed(caller, action)) {
    throw new CairnError(
      "ACCESS_DENIED",
      `user ${caller.username} (${caller.roles.join(", ")}) may not ${action}`,
    );
  }
}
