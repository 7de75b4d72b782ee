// Login sessions: the SHA-256 digest of each bearer token with its user and
// an expiry from the proposer's clock, replicated so any member can verify a
// token locally. Expired sessions stop verifying at once (readers compare with
// their own clock) and are purged deterministically, a bounded batch per login.
import { createHash } from "node:crypto";
import { assert } from "../../util/assert.js";
import type { RowVisitor, TableWrite } from "../table-write.js";
import { asNumber, asString, decodeRow, encodeRow, readText, textKey } from "./codec.js";

/** session: token digest (64 hex chars) → msgpack SessionRecord. */
export const SESSION_TABLE = "session";

export const SESSION_TTL_MS = { min: 60_000, max: 30 * 24 * 3_600_000 } as const;
/** A user's oldest session is evicted when a login would exceed this. */
export const SESSIONS_PER_USER_MAX = 32;
/** Expired sessions purged per login, so one apply does bounded work. */
export const SESSION_PURGE_BATCH = 64;

const TOKEN_HASH = /^[0-9a-f]{64}$/;

export interface SessionRecord {
  readonly tokenHash: string;
  readonly username: string;
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
}

/** The digest handlers send instead of the token (deterministic, so any member can recompute it). */
export function tokenDigest(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

export function validateTokenHash(tokenHash: string): string | null {
  return typeof tokenHash === "string" && TOKEN_HASH.test(tokenHash)
    ? null
    : "session.token_hash must be a SHA-256 digest in 64 lowercase hex characters";
}

export function validateSessionTtl(ttlMs: number): string | null {
  const ok =
    Number.isSafeInteger(ttlMs) && ttlMs >= SESSION_TTL_MS.min && ttlMs <= SESSION_TTL_MS.max;
  return ok
    ? null
    : `session.ttl_ms must be ${SESSION_TTL_MS.min}..${SESSION_TTL_MS.max}, got ${ttlMs}`;
}

/** Oldest first, ties by digest: the eviction and purge order on every member. */
const byAge = (a: SessionRecord, b: SessionRecord): number =>
  a.createdAtMs - b.createdAtMs || (a.tokenHash < b.tokenHash ? -1 : 1);

export class SessionTable {
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly byUser = new Map<string, Set<string>>();

  get size(): number {
    return this.sessions.size;
  }

  get(tokenHash: string): SessionRecord | undefined {
    return this.sessions.get(tokenHash);
  }

  /** The session if it exists and has not expired by the reader's clock. */
  verify(tokenHash: string, nowMs: number): SessionRecord | null {
    const session = this.sessions.get(tokenHash);
    return session !== undefined && session.expiresAtMs > nowMs ? session : null;
  }

  /** A user's sessions, oldest first. */
  ofUser(username: string): SessionRecord[] {
    const hashes = [...(this.byUser.get(username) ?? [])];
    return hashes.map((hash) => this.sessions.get(hash) as SessionRecord).sort(byAge);
  }

  /** Sessions expired at nowMs, oldest first, at most `max`. */
  expired(nowMs: number, max: number): SessionRecord[] {
    const due = [...this.sessions.values()].filter((s) => s.expiresAtMs <= nowMs);
    return due.sort(byAge).slice(0, max);
  }

  put(session: SessionRecord): TableWrite {
    assert(!this.sessions.has(session.tokenHash), "session token digest reused");
    assert(session.expiresAtMs > session.createdAtMs, "a session must expire after it starts");
    const value = encodeRow(session);
    this.sessions.set(session.tokenHash, session);
    let hashes = this.byUser.get(session.username);
    if (hashes === undefined) {
      hashes = new Set();
      this.byUser.set(session.username, hashes);
    }
    hashes.add(session.tokenHash);
    return { table: SESSION_TABLE, key: textKey(session.tokenHash), value };
  }

  delete(tokenHash: string): TableWrite {
    const session = this.sessions.get(tokenHash);
    assert(session !== undefined, "delete of unknown session");
    this.sessions.delete(tokenHash);
    const hashes = this.byUser.get(session.username);
    assert(hashes?.delete(tokenHash) === true, "session missing from its user's index");
    if (hashes.size === 0) this.byUser.delete(session.username);
    return { table: SESSION_TABLE, key: textKey(tokenHash), value: null };
  }

  /** Every row exactly as persisted (see state-digest.ts). */
  visitRows(visit: RowVisitor): void {
    for (const session of this.sessions.values()) {
      visit(SESSION_TABLE, textKey(session.tokenHash), encodeRow(session));
    }
  }

  loadRow(key: Uint8Array, value: Uint8Array): void {
    const tokenHash = readText(key);
    const row = decodeRow(value, "session");
    assert(asString(row.tokenHash, "session.tokenHash") === tokenHash, "session row key mismatch");
    asString(row.username, "session.username");
    asNumber(row.expiresAtMs, "session.expiresAtMs");
    this.put(row as unknown as SessionRecord);
  }
}
