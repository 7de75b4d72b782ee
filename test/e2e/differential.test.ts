// Differential test: the same seeded random operations (put with prev_kv and
// leases, ranges with prefix/limit/sort/revision, delete ranges, txns with
// value/version/create/mod compares, compactions, lease grant/revoke/
// time-to-live/list) go to a fresh 1-member etcd and a fresh 1-member cairn,
// and every normalized reply must be equal. Each family of operations gets
// its own pair of servers, so one unimplemented RPC fails one family only.
// The seed is printed; DIFF_SEED=N replays it.
import { isDeepStrictEqual } from "node:util";
import type { Client } from "@grpc/grpc-js";
import { describe, it } from "vitest";
import { EtcdCluster, etcdMissingReason } from "../../cluster/etcd-cluster.js";
import { openChannel } from "../../src/client/rpc.js";
import { DiffServer, type Outcome } from "./diff-exec.js";
import { type Family, type Op, OpGenerator, type StoreModel } from "./diff-ops.js";
import { TestCluster } from "./harness.js";

const SEED =
  process.env.DIFF_SEED !== undefined && process.env.DIFF_SEED !== ""
    ? Number(process.env.DIFF_SEED)
    : Math.floor(Math.random() * 2 ** 31);
const FAMILIES: readonly { family: Family; ops: number }[] = [
  { family: "kv", ops: 150 },
  { family: "txn", ops: 150 },
  { family: "compact", ops: 120 },
  { family: "lease", ops: 120 },
  { family: "all", ops: 250 },
];
/** A last read of the whole keyspace, so a divergence no reply showed still fails. */
const FINAL_SCAN: Op = {
  kind: "range",
  key: "\0",
  rangeEnd: "\0",
  limit: 0,
  revision: 0,
  sortOrder: 0,
  sortTarget: 0,
  keysOnly: false,
  countOnly: false,
  serializable: false,
  minModRevision: 0,
  maxCreateRevision: 0,
};

const etcdMissing = etcdMissingReason();
if (!Number.isInteger(SEED))
  throw new Error(`DIFF_SEED must be an integer, got ${process.env.DIFF_SEED}`);
if (etcdMissing !== null) console.warn(`[differential] SKIPPED: ${etcdMissing}`);
else
  console.log(
    `[differential] seed ${SEED} (replay: DIFF_SEED=${SEED} npx vitest run test/e2e/differential.test.ts)`,
  );

function divergence(
  family: Family,
  index: number,
  op: Op,
  etcd: Outcome,
  cairn: Outcome,
  history: readonly Op[],
): Error {
  const show = (value: unknown): string => JSON.stringify(value);
  return new Error(
    `cairn and etcd disagree (family ${family}, seed ${SEED}) at op #${index}: ${show(op)}\n` +
      `  etcd:  ${show(etcd.normalized)}\n  cairn: ${show(cairn.normalized)}\n` +
      `  previous ops:\n${history
        .slice(-5)
        .map((o) => `    ${show(o)}`)
        .join("\n")}\n` +
      `  replay: DIFF_SEED=${SEED} npx vitest run test/e2e/differential.test.ts -t "${family}"`,
  );
}

function advance(model: StoreModel, op: Op, etcd: Outcome): void {
  if (etcd.revision !== null) model.revision = etcd.revision;
  if (op.kind === "compact" && etcd.ok) model.compacted = op.revision;
  if (op.kind === "grant" && etcd.ok) model.grants++;
}

async function runFamily(
  family: Family,
  ops: number,
  etcd: DiffServer,
  cairn: DiffServer,
): Promise<void> {
  const model: StoreModel = { revision: 1, compacted: 0, grants: 0 };
  const generator = new OpGenerator(SEED, family, model);
  const history: Op[] = [];
  const errorsAlike = new Map<string, number>();
  for (let index = 0; index <= ops; index++) {
    const op = index < ops ? generator.next() : FINAL_SCAN;
    const [e, c] = await Promise.all([etcd.execute(op), cairn.execute(op)]);
    if (!isDeepStrictEqual(e.normalized, c.normalized))
      throw divergence(family, index, op, e, c, history);
    if (!e.ok) errorsAlike.set(op.kind, (errorsAlike.get(op.kind) ?? 0) + 1);
    advance(model, op, e);
    history.push(op);
  }
  const counts = new Map<string, number>();
  for (const op of history) counts.set(op.kind, (counts.get(op.kind) ?? 0) + 1);
  console.log(
    `[differential] ${family}: ${history.length} ops agree (${[...counts].map(([k, n]) => `${k} ${n}`).join(", ")}; ` +
      `same error ${[...errorsAlike].map(([k, n]) => `${k} ${n}`).join(", ") || "none"}), final revision ${model.revision}`,
  );
}

/** A fresh 1-member etcd and 1-member cairn; whichever started is stopped if the other fails. */
async function startPair(): Promise<{ etcd: EtcdCluster; cairn: TestCluster }> {
  const [etcd, cairn] = await Promise.allSettled([
    EtcdCluster.start({ size: 1 }),
    TestCluster.start({ size: 1 }),
  ]);
  if (etcd.status === "fulfilled" && cairn.status === "fulfilled") {
    return { etcd: etcd.value, cairn: cairn.value };
  }
  if (etcd.status === "fulfilled") await etcd.value.stop();
  if (cairn.status === "fulfilled") await cairn.value.stop();
  throw etcd.status === "rejected" ? etcd.reason : (cairn as PromiseRejectedResult).reason;
}

describe.skipIf(etcdMissing !== null)(
  etcdMissing === null
    ? `differential: cairn vs etcd 3.4, seeded (seed ${SEED})`
    : `differential: SKIPPED because ${etcdMissing}`,
  { timeout: 60_000 },
  () => {
    for (const { family, ops } of FAMILIES) {
      it(`${family}: ${ops} seeded operations get the same replies from cairn as from etcd`, async () => {
        const { etcd, cairn } = await startPair();
        const channels: Client[] = [];
        try {
          await cairn.waitForLeader(15_000);
          const etcdChannel = openChannel(etcd.endpoints()[0] ?? "");
          const cairnChannel = openChannel(cairn.members[0]?.client ?? "");
          channels.push(etcdChannel, cairnChannel);
          await runFamily(
            family,
            ops,
            new DiffServer("etcd", etcdChannel),
            new DiffServer("cairn", cairnChannel),
          );
        } finally {
          for (const channel of channels) channel.close();
          await Promise.all([etcd.stop(), cairn.stop()]);
        }
      });
    }
  },
);
