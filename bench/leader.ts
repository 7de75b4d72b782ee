// Who leads, asked over the etcd API (Maintenance.Status) so it works the
// same for cairn and etcd: the failover bench kills that member, the
// footprint bench loads through it and waits for the others to catch up.
import type { Client } from "@grpc/grpc-js";
import { MAINTENANCE_STATUS } from "../src/client/methods.js";
import { callUnary } from "../src/client/rpc.js";

const STATUS_DEADLINE_MS = 1_000;
const POLL_INTERVAL_MS = 100;

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** The member (by channel index) whose Status says it leads, with its member ID. */
export async function findLeader(
  channels: readonly Client[],
  timeoutMs = 10_000,
): Promise<{ index: number; id: number }> {
  const deadlineMs = performance.now() + timeoutMs;
  while (performance.now() < deadlineMs) {
    for (const [index, channel] of channels.entries()) {
      const status = await callUnary(channel, MAINTENANCE_STATUS, {}, STATUS_DEADLINE_MS).catch(
        () => null,
      );
      const id = status?.header?.memberId ?? 0;
      if (status !== null && id !== 0 && status.leader === id) return { index, id };
    }
    await sleep(POLL_INTERVAL_MS);
  }
  throw new Error(`no member reported itself leader within ${timeoutMs} ms`);
}

/**
 * Waits until every member has applied what any of them reports committed
 * when called: after a load, followers have caught up with it. Throws at the
 * deadline with each member's applied index.
 */
export async function awaitAllApplied(
  channels: readonly Client[],
  timeoutMs: number,
): Promise<void> {
  const statuses = () =>
    Promise.all(
      channels.map((c) =>
        callUnary(c, MAINTENANCE_STATUS, {}, STATUS_DEADLINE_MS).catch(() => null),
      ),
    );
  const committed = Math.max(0, ...(await statuses()).map((s) => s?.raftIndex ?? 0));
  const deadlineMs = performance.now() + timeoutMs;
  let applied: number[] = [];
  while (performance.now() < deadlineMs) {
    applied = (await statuses()).map((s) => s?.raftAppliedIndex ?? 0);
    if (applied.every((index) => index >= committed)) return;
    await sleep(POLL_INTERVAL_MS);
  }
  throw new Error(
    `members did not apply index ${committed} within ${timeoutMs} ms (applied: ${applied.join(", ")})`,
  );
}
