// Raw unary gRPC calls for the differential test, plus exact int64 handling
// the generated codecs lack: they decode int64 as JS numbers (exact below
// 2^53, which is all cairn issues), but etcd picks lease IDs across the whole
// int64 range, and neighbouring IDs round to the same double. Exact IDs are
// appended to request bytes as varint fields, and replies decode exactly.
import { type Client, Metadata, type ServiceError } from "@grpc/grpc-js";
import $protobuf from "protobufjs/minimal.js";

export interface RawReply {
  readonly bytes: Buffer;
}

export interface RawFailure {
  readonly code: number;
  readonly details: string;
}

const CALL_TIMEOUT_MS = 10_000;

/** One unary call with pre-encoded request bytes; resolves with the reply bytes or the gRPC status. */
export function rawCall(
  client: Client,
  path: string,
  request: Uint8Array,
): Promise<RawReply | RawFailure> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      (bytes: Buffer) => bytes,
      (bytes: Buffer) => bytes,
      Buffer.from(request),
      new Metadata(),
      { deadline: Date.now() + CALL_TIMEOUT_MS },
      (error: ServiceError | null, reply?: Buffer) => {
        if (error !== null) resolve({ code: error.code, details: error.details });
        else resolve({ bytes: reply ?? Buffer.alloc(0) });
      },
    );
  });
}

function varint(value: bigint): number[] {
  // int64 on the wire is its two's-complement uint64 as a varint.
  let rest = BigInt.asUintN(64, value);
  const out: number[] = [];
  for (let i = 0; i < 10; i++) {
    const low = Number(rest & 0x7fn);
    rest >>= 7n;
    if (rest === 0n) {
      out.push(low);
      return out;
    }
    out.push(low | 0x80);
  }
  throw new Error(`varint: ${value} does not fit 64 bits`);
}

/** `bytes` followed by field `field` (varint wire type) = `value`; a later scalar field wins on decode. */
export function withVarintField(bytes: Uint8Array, field: number, value: bigint): Uint8Array {
  return Buffer.concat([
    Buffer.from(bytes),
    Buffer.from([...varint(BigInt(field << 3)), ...varint(value)]),
  ]);
}

/**
 * Stands in for the `long` package while decoding: protobufjs then hands
 * every int64 over as {low, high} instead of a rounded double.
 */
class ExactLong {
  constructor(
    readonly low: number,
    readonly high: number,
    readonly unsigned: boolean,
  ) {}
}

/** An ExactLong as a number when it is exact, else as its decimal string. */
function fromExactLong(long: ExactLong): number | string {
  const bits = (BigInt(long.high >>> 0) << 32n) | BigInt(long.low >>> 0);
  const value = long.unsigned ? bits : BigInt.asIntN(64, bits);
  const asNumber = Number(value);
  return Number.isSafeInteger(asNumber) ? asNumber : value.toString();
}

/** Deep copy with bytes as UTF-8 text and int64s exact (number or decimal string). */
export function plain(value: unknown): unknown {
  if (value instanceof ExactLong) return fromExactLong(value);
  if (value instanceof Uint8Array) return Buffer.from(value).toString("utf8");
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) out[key] = plain(inner);
    return out;
  }
  return value;
}

export interface ResponseCodec {
  decode(bytes: Uint8Array): unknown;
  toObject(message: never, options: { defaults: boolean }): Record<string, unknown>;
}

/**
 * Decodes with the generated codec, all fields present (defaults filled in),
 * int64s exact. The generated modules switch protobufjs to plain numbers
 * globally; this switches exact longs on for one synchronous decode only.
 */
export function decodeExact(codec: ResponseCodec, bytes: Uint8Array): Record<string, unknown> {
  const util = $protobuf.util as { Long: unknown };
  const saved = util.Long;
  util.Long = ExactLong;
  $protobuf.configure();
  try {
    return plain(codec.toObject(codec.decode(bytes) as never, { defaults: true })) as Record<
      string,
      unknown
    >;
  } finally {
    util.Long = saved;
    $protobuf.configure();
  }
}
