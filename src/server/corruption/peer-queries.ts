// The corruption check's questions to other members, asked on their client
// port (the URLs each member published through Raft, as MemberList shows
// them): HashKV at a revision, and the state digest at a checkpoint. Each
// answer is retried a bounded number of times while the peer has not caught
// up yet; anything else is "no answer", and the check goes on without it.
import { Client, credentials, status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import type { NodeId } from "../../raft/types.js";
import { callUnary } from "../../transport/grpc-codec.js";
import { ERRORS } from "../errors.js";
import { MAINTENANCE_SERVICE, NODE_SERVICE } from "../services.js";
import type { DigestAnswer, KvHashAnswer } from "./compare.js";

/** Per question: attempts while the peer lags (future revision, checkpoint not applied yet). */
const LAG_ATTEMPTS_MAX = 10;
const LAG_RETRY_DELAY_MS = 200;
const CALL_TIMEOUT_MS = 2_000;
/** Channels kept: one per member URL, closed when a member's URL changes. */
const CHANNELS_MAX = 64;

export interface PeerQueries {
  /** Null when the peer gave no comparable answer (down, behind, compacted past it). */
  hashKv(peer: NodeId, revision: number): Promise<KvHashAnswer | null>;
  stateDigest(peer: NodeId, checkpoint: number): Promise<DigestAnswer | null>;
  close(): void;
}

/** Where a member's client port is, from its published attributes; null if not published yet. */
export type ClientAddressOf = (peer: NodeId) => string | null;

/** host:port of a published client URL (members publish http://host:port). */
export function grpcAddress(url: string): string {
  return url.replace(/^[a-z]+:\/\//, "").replace(/\/$/, "");
}

type Attempt<T> = { readonly kind: "answer"; readonly value: T } | { readonly kind: "lagging" };

export class GrpcPeerQueries implements PeerQueries {
  private readonly channels = new Map<string, Client>();
  private closed = false;

  constructor(private readonly addressOf: ClientAddressOf) {}

  async hashKv(peer: NodeId, revision: number): Promise<KvHashAnswer | null> {
    return this.ask(peer, async (client) => {
      try {
        const response = await callUnary(
          client,
          MAINTENANCE_SERVICE.HashKV,
          { revision },
          { deadline: Date.now() + CALL_TIMEOUT_MS },
        );
        if (response.header?.memberId !== peer) return { kind: "answer", value: null };
        const value = {
          memberId: peer,
          hash: response.hash,
          compactRevision: response.compactRevision,
        };
        return { kind: "answer", value };
      } catch (error) {
        const { code, details } = error as ServiceError;
        const lagging = code === GrpcStatus.OUT_OF_RANGE && details === ERRORS.FUTURE_REV.message;
        return lagging ? { kind: "lagging" } : { kind: "answer", value: null };
      }
    });
  }

  async stateDigest(peer: NodeId, checkpoint: number): Promise<DigestAnswer | null> {
    return this.ask(peer, async (client) => {
      try {
        const response = await callUnary(
          client,
          NODE_SERVICE.StateDigest,
          { checkpoint },
          { deadline: Date.now() + CALL_TIMEOUT_MS },
        );
        if (response.memberId !== peer) return { kind: "answer", value: null };
        if (!response.found) return { kind: "lagging" };
        const tables = response.tables.map((t) => ({
          table: t.table ?? "",
          rows: t.rows ?? 0,
          sum: t.sum ?? 0,
        }));
        const value = {
          memberId: peer,
          revision: response.revision,
          state: { digest: response.digest, tables },
        };
        return { kind: "answer", value };
      } catch {
        return { kind: "answer", value: null };
      }
    });
  }

  close(): void {
    this.closed = true;
    for (const client of this.channels.values()) client.close();
    this.channels.clear();
  }

  private async ask<T>(
    peer: NodeId,
    attempt: (client: Client) => Promise<Attempt<T | null>>,
  ): Promise<T | null> {
    for (let i = 0; i < LAG_ATTEMPTS_MAX && !this.closed; i++) {
      const client = this.channel(peer);
      if (client === null) return null;
      const outcome = await attempt(client);
      if (outcome.kind === "answer") return outcome.value;
      await new Promise((resolve) => setTimeout(resolve, LAG_RETRY_DELAY_MS));
    }
    return null;
  }

  private channel(peer: NodeId): Client | null {
    const address = this.addressOf(peer);
    if (address === null || this.closed) return null;
    let client = this.channels.get(address);
    if (client === undefined) {
      if (this.channels.size >= CHANNELS_MAX) {
        for (const stale of this.channels.values()) stale.close();
        this.channels.clear();
      }
      client = new Client(address, credentials.createInsecure());
      this.channels.set(address, client);
    }
    return client;
  }
}
