// Executes differential-test operations against one server and turns each
// reply into a comparable value: member/cluster IDs and raft terms dropped,
// lease IDs replaced by the order in which this server granted them, remaining
// TTLs reduced to their sign, and ties of non-key sorts put in key order
// (etcd leaves their order unspecified).
import type { Client } from "@grpc/grpc-js";
import { etcdserverpb } from "../../src/gen/etcd.js";
import type { CompareSpec, Op, PutOp, RangeOp, TxnRequestOp } from "./diff-ops.js";
import { decodeExact, type ResponseCodec, rawCall, withVarintField } from "./diff-wire.js";

/** The lease ID used for "never granted" references: the same on both servers. */
const UNKNOWN_LEASE = 0x7777_7777n;

export type Normalized = unknown;

export interface Outcome {
  readonly normalized: Normalized;
  /** header.revision of a successful reply, else null. */
  readonly revision: number | null;
  readonly ok: boolean;
}

const bytes = (text: string): Uint8Array => Buffer.from(text);

function rangeRequest(op: RangeOp): etcdserverpb.RangeRequest.$Properties {
  return {
    key: bytes(op.key),
    rangeEnd: op.rangeEnd === null ? null : bytes(op.rangeEnd),
    limit: op.limit,
    revision: op.revision,
    sortOrder: op.sortOrder,
    sortTarget: op.sortTarget,
    keysOnly: op.keysOnly,
    countOnly: op.countOnly,
    serializable: op.serializable,
    minModRevision: op.minModRevision,
    maxCreateRevision: op.maxCreateRevision,
  };
}

function compareRequest(c: CompareSpec): etcdserverpb.Compare.$Properties {
  const base = {
    key: bytes(c.key),
    rangeEnd: c.rangeEnd === null ? null : bytes(c.rangeEnd),
    result: c.result,
  };
  switch (c.target) {
    case "version":
      return { ...base, target: 0, version: c.number };
    case "create":
      return { ...base, target: 1, createRevision: c.number };
    case "mod":
      return { ...base, target: 2, modRevision: c.number };
    case "value":
      return { ...base, target: 3, value: bytes(c.value) };
  }
}

/** A Put without its lease: the lease ID is appended to the encoded bytes, exactly. */
function putRequest(op: PutOp): etcdserverpb.PutRequest.$Properties {
  return {
    key: bytes(op.key),
    value: bytes(op.value),
    prevKv: op.prevKv,
    ignoreValue: op.ignoreValue,
    ignoreLease: op.ignoreLease,
  };
}

function requestOp(op: TxnRequestOp): etcdserverpb.RequestOp.$Properties {
  switch (op.kind) {
    case "put":
      return { requestPut: putRequest(op) };
    case "range":
      return { requestRange: rangeRequest(op) };
    case "delete":
      return {
        requestDeleteRange: {
          key: bytes(op.key),
          rangeEnd: op.rangeEnd === null ? null : bytes(op.rangeEnd),
          prevKv: op.prevKv,
        },
      };
  }
}

const SORT_FIELDS = ["key", "version", "createRevision", "modRevision", "value"] as const;

/** Puts ties of a non-key sort in key order; a tie cut by `limit` keeps only its sort value. */
function canonicalTies(op: RangeOp, response: Record<string, unknown>): void {
  const kvs = response.kvs as Record<string, unknown>[] | undefined;
  const field = SORT_FIELDS[op.sortTarget] ?? "key";
  if (kvs === undefined || kvs.length === 0 || field === "key") return;
  const runs: Record<string, unknown>[][] = [];
  for (const kv of kvs) {
    const last = runs.at(-1);
    if (last !== undefined && String(last[0]?.[field]) === String(kv[field])) last.push(kv);
    else runs.push([kv]);
  }
  const byKey = (a: Record<string, unknown>, b: Record<string, unknown>): number =>
    String(a.key) < String(b.key) ? -1 : String(a.key) > String(b.key) ? 1 : 0;
  for (const run of runs) run.sort(byKey);
  const cut = response.more === true && (runs.at(-1)?.length ?? 0) > 1;
  if (cut) {
    const last = runs.pop() ?? [];
    runs.push(last.map((kv) => ({ tiedOn: kv[field] })));
  }
  response.kvs = runs.flat();
}

export class DiffServer {
  /** Exact lease IDs in grant order: index = the LeaseRef the generator uses. */
  private readonly leases: bigint[] = [];
  /** Exact lease ID (number or decimal string, as decoded) → its name in grant order. */
  private readonly leaseNames = new Map<string, string>();

  constructor(
    readonly label: string,
    /** One channel per member; operations rotate over them. */
    private readonly channels: readonly Client[],
  ) {}

  private turn = 0;

  private nextChannel(): Client {
    const channel = this.channels[this.turn++ % this.channels.length];
    if (channel === undefined) throw new Error(`${this.label}: no channels`);
    return channel;
  }

  private leaseId(ref: number): bigint {
    if (ref < 0) return UNKNOWN_LEASE;
    const id = this.leases[ref];
    if (id === undefined) throw new Error(`${this.label}: no lease #${ref} (grants diverged)`);
    return id;
  }

  /** Lease IDs as this server's grant order, so two servers' arbitrary IDs compare equal. */
  private leaseName(id: number | string): string {
    return this.leaseNames.get(String(id)) ?? `unknown-lease-${id}`;
  }

  private renameLeases(value: unknown): void {
    if (Array.isArray(value)) {
      for (const item of value) this.renameLeases(item);
    } else if (typeof value === "object" && value !== null) {
      const record = value as Record<string, unknown>;
      for (const [key, inner] of Object.entries(record)) {
        const isId = typeof inner === "number" || typeof inner === "string";
        if ((key === "lease" || key === "ID") && isId && inner !== 0) {
          record[key] = this.leaseName(inner);
        } else {
          this.renameLeases(inner);
        }
      }
    }
  }

  private stripHeaders(value: unknown): void {
    if (Array.isArray(value)) {
      for (const item of value) this.stripHeaders(item);
    } else if (typeof value === "object" && value !== null) {
      const record = value as Record<string, unknown>;
      for (const [key, inner] of Object.entries(record)) {
        if (key === "header" && typeof inner === "object" && inner !== null) {
          record[key] = { revision: (inner as { revision?: unknown }).revision };
        } else {
          this.stripHeaders(inner);
        }
      }
    }
  }

  async execute(op: Op): Promise<Outcome> {
    const [path, request, codec] = this.encode(op);
    const reply = await rawCall(this.nextChannel(), path, request);
    if (!("bytes" in reply)) {
      return {
        normalized: { error: reply.code, details: reply.details },
        revision: null,
        ok: false,
      };
    }
    const object = decodeExact(codec, reply.bytes);
    if (op.kind === "grant") this.recordGrant(object.ID);
    this.stripHeaders(object);
    this.renameLeases(object);
    this.normalizeOp(op, object);
    const header = object.header as { revision?: number } | undefined;
    return { normalized: object, revision: header?.revision ?? null, ok: true };
  }

  private recordGrant(id: unknown): void {
    if (id === 0 || id === undefined) return;
    this.leases.push(BigInt(String(id)));
    this.leaseNames.set(String(id), `lease#${this.leases.length - 1}`);
  }

  private normalizeOp(op: Op, object: Record<string, unknown>): void {
    if (op.kind === "range") canonicalTies(op, object);
    if (op.kind === "txn") {
      const responses = object.responses as Record<string, unknown>[] | undefined;
      const taken = object.succeeded === true ? op.success : op.failure;
      responses?.forEach((response, i) => {
        const request = taken[i];
        const range = response.responseRange as Record<string, unknown> | null | undefined;
        if (request?.kind === "range" && range !== null && range !== undefined) {
          canonicalTies(request, range);
        }
      });
    }
    if (op.kind === "timeToLive") {
      const ttl = object.TTL as number;
      object.TTL = ttl > 0 ? "positive" : ttl;
      object.keys = [...((object.keys as string[] | undefined) ?? [])].sort();
    }
    if (op.kind === "leases") {
      const leases = (object.leases as { ID: unknown }[] | undefined) ?? [];
      object.leases = leases.map((l) => String(l.ID)).sort();
    }
  }

  private encode(op: Op): [string, Uint8Array, ResponseCodec] {
    const pb = etcdserverpb;
    switch (op.kind) {
      case "put": {
        const encoded = pb.PutRequest.encode(putRequest(op)).finish();
        const withLease =
          op.lease === null ? encoded : withVarintField(encoded, 3, this.leaseId(op.lease));
        return ["/etcdserverpb.KV/Put", withLease, pb.PutResponse];
      }
      case "range":
        return [
          "/etcdserverpb.KV/Range",
          pb.RangeRequest.encode(rangeRequest(op)).finish(),
          pb.RangeResponse,
        ];
      case "delete": {
        const request = requestOp(op).requestDeleteRange ?? {};
        return [
          "/etcdserverpb.KV/DeleteRange",
          pb.DeleteRangeRequest.encode(request).finish(),
          pb.DeleteRangeResponse,
        ];
      }
      case "txn": {
        const request = {
          compare: op.compares.map(compareRequest),
          success: op.success.map(requestOp),
          failure: op.failure.map(requestOp),
        };
        return ["/etcdserverpb.KV/Txn", pb.TxnRequest.encode(request).finish(), pb.TxnResponse];
      }
      case "compact": {
        const request = { revision: op.revision, physical: op.physical };
        return [
          "/etcdserverpb.KV/Compact",
          pb.CompactionRequest.encode(request).finish(),
          pb.CompactionResponse,
        ];
      }
      case "grant": {
        const request = pb.LeaseGrantRequest.encode({ TTL: op.ttlSeconds, ID: op.id }).finish();
        return ["/etcdserverpb.Lease/LeaseGrant", request, pb.LeaseGrantResponse];
      }
      case "revoke": {
        const request = withVarintField(new Uint8Array(0), 1, this.leaseId(op.lease));
        return ["/etcdserverpb.Lease/LeaseRevoke", request, pb.LeaseRevokeResponse];
      }
      case "timeToLive": {
        const encoded = pb.LeaseTimeToLiveRequest.encode({ keys: op.keys }).finish();
        const request = withVarintField(encoded, 1, this.leaseId(op.lease));
        return ["/etcdserverpb.Lease/LeaseTimeToLive", request, pb.LeaseTimeToLiveResponse];
      }
      case "leases":
        return ["/etcdserverpb.Lease/LeaseLeases", new Uint8Array(0), pb.LeaseLeasesResponse];
    }
  }
}
