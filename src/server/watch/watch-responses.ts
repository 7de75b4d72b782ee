// The WatchResponses a stream sends, built from watch events and watcher
// state, and etcd's fragmentation of one large response into pieces that each
// stay under the size limit (only for watchers that asked for fragments).
import { etcdserverpb, mvccpb } from "../../gen/etcd.js";
import type { WatchEvent } from "../../state/index.js";
import { assert } from "../../util/assert.js";
import { toProtoKv } from "../kv-codec.js";

export type WatchResponse = etcdserverpb.WatchResponse.$Properties;
export type ResponseHeader = etcdserverpb.ResponseHeader.$Properties;

/** watch_id of responses that belong to no single watcher: rejections and stream-wide progress. */
export const INVALID_WATCH_ID = -1;

export function toProtoEvent(event: WatchEvent, withPrevKv: boolean): mvccpb.Event.$Properties {
  const proto: mvccpb.Event.$Properties = {
    type: event.type === "put" ? mvccpb.Event.EventType.PUT : mvccpb.Event.EventType.DELETE,
    kv: toProtoKv(event.kv),
  };
  if (withPrevKv && event.prevKv !== null) proto.prevKv = toProtoKv(event.prevKv);
  return proto;
}

export function createdResponse(header: ResponseHeader, watchId: number): WatchResponse {
  return { header, watchId, created: true };
}

/** A create request refused before any watcher existed: etcd sends created+canceled, id -1. */
export function rejectedResponse(header: ResponseHeader, reason: string): WatchResponse {
  return { header, watchId: INVALID_WATCH_ID, created: true, canceled: true, cancelReason: reason };
}

export function canceledResponse(
  header: ResponseHeader,
  watchId: number,
  compacted?: { readonly compactRevision: number; readonly reason: string },
): WatchResponse {
  const response: WatchResponse = { header, watchId, canceled: true };
  if (compacted !== undefined) {
    response.compactRevision = compacted.compactRevision;
    response.cancelReason = compacted.reason;
  }
  return response;
}

/** Empty response: "nothing for you up to header.revision" (-1: for every watcher). */
export function progressResponse(header: ResponseHeader, watchId: number): WatchResponse {
  return { header, watchId };
}

export function eventsResponse(
  header: ResponseHeader,
  watchId: number,
  events: readonly WatchEvent[],
  withPrevKv: boolean,
): WatchResponse {
  assert(events.length > 0, "an events response carries events");
  return { header, watchId, events: events.map((event) => toProtoEvent(event, withPrevKv)) };
}

function varintBytes(value: number): number {
  let bytes = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) bytes++;
  return bytes;
}

/** Bytes one event adds to a WatchResponse: field 11's tag, length prefix and body. */
function eventFieldBytes(event: mvccpb.Event.$Properties): number {
  const body = mvccpb.Event.encode(event).finish().byteLength;
  return 1 + varintBytes(body) + body;
}

/**
 * etcd's sendFragments: a response under `bytesMax`, or with one event, goes
 * whole; otherwise it is cut into pieces of as many events as fit under
 * `bytesMax` (at least one each), all but the last marked fragment=true.
 * Pieces may split a revision; the client joins them back.
 */
export function splitFragments(response: WatchResponse, bytesMax: number): WatchResponse[] {
  const events = response.events ?? [];
  if (events.length < 2) return [response];
  const whole = etcdserverpb.WatchResponse.encode(response).finish().byteLength;
  if (whole < bytesMax) return [response];
  const base = etcdserverpb.WatchResponse.encode({ ...response, events: [] }).finish().byteLength;
  const pieces: WatchResponse[] = [];
  let current: mvccpb.Event.$Properties[] = [];
  let size = base;
  for (const event of events) {
    const added = eventFieldBytes(event);
    if (current.length > 0 && size + added >= bytesMax) {
      pieces.push({ ...response, events: current, fragment: true });
      current = [];
      size = base;
    }
    current.push(event);
    size += added;
  }
  pieces.push({ ...response, events: current, fragment: false });
  assert(pieces.length >= 2, "a response over the limit with 2+ events splits");
  return pieces;
}
