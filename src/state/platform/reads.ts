// Platform reads that need more than a table lookup: user and op-log pages
// (opaque tokens), op-log catch-up for watches, and Locate. Pure functions of
// the tables; the handler supplies the clock where one matters.
import { assert } from "../../util/assert.js";
import type { PlatformTables } from "./context.js";
import {
  failedPrecondition,
  invalidArgument,
  isPlatformError,
  notFound,
  type PlatformError,
} from "./errors.js";
import { type GroupMember, placement, validateLocate } from "./membership.js";
import { OPLOG_PAGE_MAX, type OpLogPage, type OpLogQuery, type OpLogRecord } from "./oplog.js";
import { decodePageToken, encodePageToken, queryDigest } from "./page-token.js";
import { locate } from "./rendezvous.js";
import { type UserView, userView } from "./users.js";

export const USER_PAGE_MAX = 500;

export interface UserPage {
  readonly users: readonly UserView[];
  readonly nextPageToken: string;
}

/** Users in username order; the token is the last username, so a page never repeats one. */
export function listUsers(
  tables: PlatformTables,
  pageSize: number,
  pageToken: string,
): UserPage | PlatformError {
  if (!(Number.isSafeInteger(pageSize) && pageSize >= 1 && pageSize <= USER_PAGE_MAX)) {
    return invalidArgument(`page_size must be 1..${USER_PAGE_MAX}, got ${pageSize}`);
  }
  const digest = queryDigest("users");
  let after = "";
  if (pageToken !== "") {
    const fields = decodePageToken(pageToken, digest);
    if (isPlatformError(fields)) return fields;
    if (typeof fields.u !== "string") return invalidArgument("page_token is malformed");
    after = fields.u;
  }
  const users = tables.users.list(after, pageSize + 1);
  const page = users.slice(0, pageSize);
  const last = page[page.length - 1];
  const nextPageToken =
    users.length > pageSize && last !== undefined
      ? encodePageToken(digest, { u: last.username })
      : "";
  return { users: page.map(userView), nextPageToken };
}

export interface OpLogListRequest extends Omit<OpLogQuery, "cursor" | "limit"> {
  readonly pageSize: number;
  readonly pageToken: string;
}

export interface OpLogListPage extends Omit<OpLogPage, "nextCursor"> {
  readonly nextPageToken: string;
}

/**
 * One page of the op log. Records never change, so a page token is just the
 * last sequence returned: later pages are exact even while records are
 * appended (or pruned from the other end).
 */
export function listOpLog(
  tables: PlatformTables,
  request: OpLogListRequest,
): OpLogListPage | PlatformError {
  if (
    !(
      Number.isSafeInteger(request.pageSize) &&
      request.pageSize >= 1 &&
      request.pageSize <= OPLOG_PAGE_MAX
    )
  ) {
    return invalidArgument(`page_size must be 1..${OPLOG_PAGE_MAX}, got ${request.pageSize}`);
  }
  if (request.order !== "asc" && request.order !== "desc") {
    return invalidArgument(`order must be asc or desc, got ${JSON.stringify(request.order)}`);
  }
  for (const [name, value] of [
    ["from_ms", request.fromMs],
    ["to_ms", request.toMs],
  ] as const) {
    if (!(Number.isSafeInteger(value) && value >= 0))
      return invalidArgument(`${name} must be 0 (none) or a time in ms, got ${value}`);
  }
  const { pageSize, pageToken, ...filter } = request;
  const digest = queryDigest(JSON.stringify(filter));
  let cursor = 0;
  if (pageToken !== "") {
    const fields = decodePageToken(pageToken, digest);
    if (isPlatformError(fields)) return fields;
    if (!(Number.isSafeInteger(fields.c) && (fields.c as number) >= 1))
      return invalidArgument("page_token is malformed");
    cursor = fields.c as number;
  }
  const page = tables.oplog.query({ ...filter, cursor, limit: pageSize });
  const { nextCursor, ...rest } = page;
  return {
    ...rest,
    nextPageToken: nextCursor === 0 ? "" : encodePageToken(digest, { c: nextCursor }),
  };
}

/**
 * Records from `sequence` on (inclusive), oldest first, for an op-log or
 * resource watch to catch up; refused when retention already dropped it.
 */
export function opLogSince(
  tables: PlatformTables,
  sequence: number,
  limit: number,
): readonly OpLogRecord[] | PlatformError {
  assert(Number.isSafeInteger(limit) && limit >= 1, "opLogSince needs a positive limit");
  if (!(Number.isSafeInteger(sequence) && sequence >= 1))
    return invalidArgument(`since_sequence must be >= 1, got ${sequence}`);
  const first = tables.oplog.firstSequence;
  if (first !== 0 && sequence < first) {
    return failedPrecondition(
      `op-log sequence ${sequence} was dropped by retention; the oldest kept is ${first}`,
    );
  }
  if (first === 0 && sequence <= tables.oplog.lastSequence) {
    return failedPrecondition(
      `op-log sequence ${sequence} was dropped by retention; the log is empty`,
    );
  }
  const query = { target: "", actor: "", action: "", fromMs: 0, toMs: 0, order: "asc" as const };
  return tables.oplog.query({ ...query, cursor: sequence - 1, limit }).records;
}

/**
 * The first op-log sequence whose revision is >= `revision` (past the last
 * when none is yet), for a watch from a revision. Refused like opLogSince
 * when retention may have dropped a record at or after `revision`: records
 * sharing the oldest kept record's revision may be gone, so a log that lost
 * records serves only revisions above that one (above `currentRevision` once
 * it lost them all).
 */
export function opLogSequenceAtRevision(
  tables: PlatformTables,
  revision: number,
  currentRevision: number,
): number | PlatformError {
  if (!(Number.isSafeInteger(revision) && revision >= 1))
    return invalidArgument(`start_revision must be >= 1, got ${revision}`);
  const { oplog } = tables;
  const first = oplog.firstSequence;
  const dropped = first === 0 ? oplog.lastSequence > 0 : first > 1;
  if (dropped) {
    const oldestKept = first === 0 ? undefined : oplog.get(first);
    const floor = (oldestKept?.revision ?? currentRevision) + 1;
    if (revision < floor) {
      return failedPrecondition(
        `op-log records from revision ${revision} were dropped by retention; ` +
          `the oldest revision a watch can start from is ${floor}`,
      );
    }
  }
  return oplog.firstAtOrAfterRevision(revision);
}

export interface LocateAnswer {
  readonly revision: number;
  /** Best first; at most `replicas`, fewer when the group is smaller. */
  readonly owners: readonly GroupMember[];
}

export function locateKey(
  tables: PlatformTables,
  group: string,
  key: string,
  replicas: number,
): LocateAnswer | PlatformError {
  const invalid = validateLocate(group, key, replicas);
  if (invalid !== null) return invalidArgument(invalid);
  const members = tables.membership.members(group);
  if (members.length === 0) return notFound(`group ${group} has no members`);
  const ids = locate(placement(members), key, replicas);
  const byId = new Map(members.map((member) => [member.memberId, member]));
  return { revision: tables.kv.revision, owners: ids.map((id) => byId.get(id) as GroupMember) };
}
