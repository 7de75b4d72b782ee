// The end of a run: heal everything, bring every member back, wait for a
// leader, read every register key linearizably on every member (into the
// history), and compare the members' KV hashes at one revision.

import { KV_SERVICE, MAINTENANCE_SERVICE } from "../../src/server/services.js";
import type { Net } from "../net/net.js";
import { bytes, describeError, type Endpoints, text } from "../workloads/endpoints.js";
import { sleep } from "../workloads/workload.js";
import type { History } from "./history.js";
import { type DetailedResult, getOrInsert } from "./results.js";
import type { Target } from "./target.js";

export interface FinalOptions {
  readonly cluster: Target;
  readonly net: Net;
  readonly endpoints: Endpoints;
  readonly history: History;
  /** Register keys to read on every member (empty: no final reads). */
  readonly keys: readonly string[];
  readonly timeoutMs: number;
}

const CALL_TIMEOUT_MS = 2_000;

/** Heals the network, resumes paused members and restarts stopped ones. */
export async function healAll(cluster: Target, net: Net): Promise<string[]> {
  await net.heal();
  const restarted: string[] = [];
  for (const member of cluster.members) {
    if (member.process !== null) cluster.signal(member.name, "SIGCONT");
    else {
      cluster.startMember(member.name);
      restarted.push(member.name);
      await net.restarted(member.name).catch(() => undefined);
    }
  }
  return restarted;
}

/** Every member reads every key; each member's reads retry until ok or the deadline. */
export async function finalReads(options: FinalOptions): Promise<DetailedResult> {
  const { endpoints, history, keys } = options;
  const deadline = Date.now() + options.timeoutMs;
  const seen = new Map<string, Map<string, string>>();
  const unread: string[] = [];
  for (const node of endpoints.names) {
    for (const key of keys) {
      let value: string | null | undefined;
      while (value === undefined && Date.now() < deadline) {
        const process = history.newProcess();
        history.record({ process, type: "invoke", f: "read", key, value: null, node });
        try {
          const range = await endpoints.call(
            node,
            KV_SERVICE.Range,
            { key: bytes(key) },
            CALL_TIMEOUT_MS,
          );
          const kv = range.kvs[0];
          value = kv === undefined ? null : text(kv.value);
          history.record({
            process,
            type: "ok",
            f: "read",
            key,
            value: value === null ? null : Number(value),
            node,
          });
        } catch (error) {
          history.record({
            process,
            type: "info",
            f: "read",
            key,
            value: null,
            node,
            error: describeError(error),
          });
          await sleep(300);
        }
      }
      if (value === undefined) unread.push(`${node}/${key}`);
      else {
        getOrInsert(seen, key, () => new Map<string, string>()).set(node, String(value));
      }
    }
  }
  const disagreements = [...seen]
    .filter(([, byNode]) => new Set(byNode.values()).size > 1)
    .map(([key, byNode]) => ({ key, values: Object.fromEntries(byNode) }));
  return {
    valid: disagreements.length > 0 ? false : unread.length > 0 ? "unknown" : true,
    checker: "final reads agree on every member",
    unread,
    disagreements,
  };
}

/**
 * HashKV at one revision on every member. Members restored from a snapshot
 * may have compacted differently; hashes are compared within equal
 * compactRevision only (as etcd's corruption check does).
 */
export async function compareHashes(options: FinalOptions): Promise<DetailedResult> {
  const { endpoints } = options;
  const deadline = Date.now() + options.timeoutMs;
  let revision = 0;
  while (revision === 0 && Date.now() < deadline) {
    for (const node of endpoints.names) {
      try {
        const range = await endpoints.call(
          node,
          KV_SERVICE.Range,
          { key: bytes("\0"), limit: 1 },
          CALL_TIMEOUT_MS,
        );
        revision = Number(range.header?.revision ?? 0);
        break;
      } catch {
        // try the next member
      }
    }
    if (revision === 0) await sleep(300);
  }
  const hashes: Record<string, { hash: number; compactRevision: number } | string> = {};
  for (const node of endpoints.names) {
    hashes[node] = "no answer";
    while (Date.now() < deadline) {
      try {
        const hashed = await endpoints.call(
          node,
          MAINTENANCE_SERVICE.HashKV,
          { revision },
          CALL_TIMEOUT_MS,
        );
        hashes[node] = {
          hash: Number(hashed.hash),
          compactRevision: Number(hashed.compactRevision),
        };
        break;
      } catch (error) {
        hashes[node] = describeError(error);
        await sleep(300);
      }
    }
  }
  const byCompact = new Map<number, Set<number>>();
  let missing = 0;
  for (const entry of Object.values(hashes)) {
    if (typeof entry === "string") {
      missing++;
      continue;
    }
    getOrInsert(byCompact, entry.compactRevision, () => new Set<number>()).add(entry.hash);
  }
  const differ = [...byCompact.values()].some((set) => set.size > 1);
  return {
    valid: differ ? false : missing > 0 || revision === 0 ? "unknown" : true,
    checker: "members' HashKV agree at one revision",
    revision,
    hashes,
  };
}
