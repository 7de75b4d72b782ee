// The etcd v3 RPCs the benchmark uses beyond the client library's own
// (src/client/methods.ts: KV, leases): Txn and v3lock, plus a Watch stream, bound to the generated codecs,
// so the same calls measure cairn and etcd.
import { type Client, type ClientDuplexStream, Metadata } from "@grpc/grpc-js";
import { unaryMethod } from "../src/client/rpc.js";
import { etcdserverpb, v3lockpb } from "../src/gen/etcd.js";

export const KV_TXN = unaryMethod(
  "/etcdserverpb.KV/Txn",
  etcdserverpb.TxnRequest,
  etcdserverpb.TxnResponse,
);
export const LOCK_LOCK = unaryMethod(
  "/v3lockpb.Lock/Lock",
  v3lockpb.LockRequest,
  v3lockpb.LockResponse,
);
export const LOCK_UNLOCK = unaryMethod(
  "/v3lockpb.Lock/Unlock",
  v3lockpb.UnlockRequest,
  v3lockpb.UnlockResponse,
);

export type WatchStream = ClientDuplexStream<
  etcdserverpb.WatchRequest.$Properties,
  etcdserverpb.WatchResponse
>;

/** Opens a Watch stream; `hasleader` as etcdctl and clientv3 send it. */
export function openWatchStream(channel: Client): WatchStream {
  const metadata = new Metadata();
  metadata.set("hasleader", "true");
  return channel.makeBidiStreamRequest(
    "/etcdserverpb.Watch/Watch",
    (request: etcdserverpb.WatchRequest.$Properties) =>
      Buffer.from(etcdserverpb.WatchRequest.encode(request).finish()),
    (bytes: Buffer) => etcdserverpb.WatchResponse.decode(bytes),
    metadata,
  );
}
