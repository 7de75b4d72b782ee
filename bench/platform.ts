// Platform workloads (cairn.v1 only, so cairn-only): `platform` mixes
// resource create / list page / update-with-expected-version as an operations
// platform does, and `platform-lock` runs Locks.Acquire+Release cycles with
// one lease per worker over 4 names. prepare() registers and logs in a bench
// user (the first user of a fresh cluster becomes admin).
import { type Client, Metadata } from "@grpc/grpc-js";
import { LOCKS, RESOURCES, USERS } from "../src/client/platform-methods.js";
import { callUnary } from "../src/client/rpc.js";
import type { Workload, WorkloadContext } from "./workloads.js";

const BENCH_USER = "bench";
const BENCH_PASSWORD = "bench-password-123";
/** Resources a worker keeps for its updates; new ones are created round-robin. */
const RESOURCES_PER_WORKER_MAX = 16;
const LOCK_NAMES = 4;

interface Session {
  metadata: Metadata;
}

async function login(channel: Client, context: WorkloadContext, session: Session): Promise<void> {
  await callUnary(
    channel,
    USERS.Register,
    { username: BENCH_USER, password: BENCH_PASSWORD, email: "bench@example.com" },
    context.timeoutMs,
  ).catch((error: { code?: number }) => {
    if (error.code !== 6) throw error; // ALREADY_EXISTS: a cluster reused with --endpoints
  });
  const answer = await callUnary(
    channel,
    USERS.Login,
    { username: BENCH_USER, password: BENCH_PASSWORD },
    context.timeoutMs,
  );
  session.metadata = new Metadata();
  session.metadata.set("authorization", `Bearer ${answer.token}`);
}

function serverSpec(index: number) {
  return {
    image: "ubuntu:24.04",
    cpu: 2,
    memoryMib: 2048,
    diskGib: 20,
    bandwidthMbps: 1000,
    hostname: `bench-${index}`,
  };
}

export function platformWorkload(): Workload {
  const session: Session = { metadata: new Metadata() };
  return {
    name: "platform",
    description:
      "cairn.v1 resources: 40% create, 30% list (page of 50), 30% update with expected version",
    prepare: (channel, context) => login(channel, context, session),
    operation(context) {
      const owned = new Map<number, Array<{ id: string; version: number }>>();
      let created = 0;
      return async (channel, random, worker) => {
        const mine = owned.get(worker) ?? [];
        owned.set(worker, mine);
        const dice = random();
        if (dice < 0.4 || mine.length === 0) {
          const index = created++;
          const answer = await callUnary(
            channel,
            RESOURCES.Create,
            {
              name: `bench-${index}`,
              region: `region-${index % 4}`,
              labels: { bench: "yes" },
              server: serverSpec(index),
            },
            context.timeoutMs,
            session.metadata,
          );
          mine.push({ id: answer.resource?.id ?? "", version: answer.resource?.version ?? 1 });
          if (mine.length > RESOURCES_PER_WORKER_MAX) mine.shift();
        } else if (dice < 0.7) {
          await callUnary(
            channel,
            RESOURCES.List,
            { pageSize: 50 },
            context.timeoutMs,
            session.metadata,
          );
        } else {
          const target = mine[Math.floor(random() * mine.length)] as {
            id: string;
            version: number;
          };
          const answer = await callUnary(
            channel,
            RESOURCES.Update,
            {
              id: target.id,
              expectedVersion: target.version,
              category: `c${Math.floor(random() * 10)}`,
            },
            context.timeoutMs,
            session.metadata,
          );
          target.version = answer.resource?.version ?? target.version + 1;
        }
      };
    },
  };
}

export function platformLockWorkload(): Workload {
  const session: Session = { metadata: new Metadata() };
  return {
    name: "platform-lock",
    description:
      "cairn.v1 Locks Acquire+Release cycle, one lease per worker, names rotating over 4 locks",
    prepare: (channel, context) => login(channel, context, session),
    operation(context) {
      const leases = new Map<number, number>();
      let cycle = 0;
      return async (channel, _random, worker) => {
        const name = `bench-lock-${cycle++ % LOCK_NAMES}`;
        const acquired = await callUnary(
          channel,
          LOCKS.Acquire,
          { name, leaseId: leases.get(worker) ?? 0, ttlSeconds: 30 },
          context.timeoutMs,
          session.metadata,
        );
        leases.set(worker, acquired.leaseId);
        await callUnary(
          channel,
          LOCKS.Release,
          { name, leaseId: acquired.leaseId, token: acquired.token },
          context.timeoutMs,
          session.metadata,
        );
      };
    },
  };
}
