// Differential test: the same seeded random operations (put with prev_kv and
// leases, ranges with prefix/limit/sort/revision, delete ranges, txns with
// value/version/create/mod compares, compactions, lease grant/revoke/
// time-to-live/list) go to a fresh 1-member etcd and a fresh 1-member cairn,
// and every normalized reply must be equal. Each family of operations gets
// its own pair of servers, so one unimplemented RPC fails one family only.
// The seed is printed; DIFF_SEED=N replays it. DIFF_CAIRN_SIZE=3 runs cairn
// with 3 members and rotates the operations over them (forwarding and
// ReadIndex paths; serializable reads are then not drawn).
import { isDeepStrictEqual } from "node:util";
import type { Client } from "@grpc/grpc-js";
import { describe, it } from "vitest";
import { EtcdCluster, etcdMissingReason } from "../../cluster/etcd-cluster.js";
import { openChannel } from "../../src/client/rpc.js";
import { DiffServer, type Outcome } from "./diff-exec.js";
import { type Family, type Op, OpGenerator, type StoreModel } from "./diff-ops.js";
import { PINNED } from "./diff-pinned.js";
import { TestCluster } from "./harness.js";

const SEED =
  process.env.DIFF_SEED !== undefined && process.env.DIFF_SEED !== ""
    ? Number(process.env.DIFF_SEED)
    : Math.floor(Math.random() * 2 ** 31);
const CAIRN_SIZE = Number(process.env.DIFF_CAIRN_SIZE ?? "1");
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
if (CAIRN_SIZE !== 1 && CAIRN_SIZE !== 3)
  throw new Error(`DIFF_CAIRN_SIZE must be 1 or 3, got ${process.env.DIFF_CAIRN_SIZE}`);
if (!Number.isInteger(SEED))
  throw new Error(`DIFF_SEED must be an integer, got ${process.env.DIFF_SEED}`);
if (etcdMissing !== null) console.warn(`[differential] SKIPPED: ${etcdMissing}`);
else
  console.log(
    `[differential] seed ${SEED} (replay: DIFF_SEED=${SEED} npx vitest run test/e2e/differential.test.ts)`,
  );

function divergence(
  name: string,
  index: number,
  op: Op,
  etcd: Outcome,
  cairn: Outcome,
  history: readonly Op[],
): Error {
  const show = (value: unknown): string => JSON.stringify(value);
  const previous = history.slice(-5).map((o) => `    ${show(o)}`);
  return new Error(
    `cairn and etcd disagree (${name}, seed ${SEED}) at op #${index}: ${show(op)}\n` +
      `  etcd:  ${show(etcd.normalized)}\n  cairn: ${show(cairn.normalized)}\n` +
      `  previous ops:\n${previous.join("\n")}\n` +
      `  replay: DIFF_SEED=${SEED} npx vitest run test/e2e/differential.test.ts -t "${name}"`,
  );
}

function advance(model: StoreModel, op: Op, etcd: Outcome): void {
  if (etcd.revision !== null) model.revision = etcd.revision;
  if (op.kind === "compact" && etcd.ok) model.compacted = op.revision;
  if (op.kind === "grant" && etcd.ok) model.grants++;
}

function tally(counts: ReadonlyMap<string, number>): string {
  return [...counts].map(([kind, n]) => `${kind} ${n}`).join(", ") || "none";
}

/** Sends each op to both servers, in step; throws at the first normalized difference. */
async function runOps(
  name: string,
  nextOp: (index: number, model: StoreModel) => Op | null,
  etcd: DiffServer,
  cairn: DiffServer,
): Promise<void> {
  const model: StoreModel = { revision: 1, compacted: 0, grants: 0 };
  const history: Op[] = [];
  const sameErrors = new Map<string, number>();
  const OPS_MAX = 10_000;
  for (let index = 0; index < OPS_MAX; index++) {
    const op = nextOp(index, model);
    if (op === null) break;
    const [e, c] = await Promise.all([etcd.execute(op), cairn.execute(op)]);
    if (!isDeepStrictEqual(e.normalized, c.normalized)) {
      throw divergence(name, index, op, e, c, history);
    }
    if (!e.ok) sameErrors.set(op.kind, (sameErrors.get(op.kind) ?? 0) + 1);
    advance(model, op, e);
    history.push(op);
  }
  const counts = new Map<string, number>();
  for (const op of history) counts.set(op.kind, (counts.get(op.kind) ?? 0) + 1);
  console.log(
    `[differential] ${name}: ${history.length} ops agree (${tally(counts)}; ` +
      `same error: ${tally(sameErrors)}), final revision ${model.revision}`,
  );
}

/** The seeded ops of one family, then a scan of the whole keyspace. */
function familyOps(family: Family, ops: number): (index: number, model: StoreModel) => Op | null {
  let generator: OpGenerator | null = null;
  return (index, model) => {
    generator ??= new OpGenerator(SEED, family, model, CAIRN_SIZE === 1);
    if (index < ops) return generator.next();
    return index === ops ? FINAL_SCAN : null;
  };
}

/** A fresh 1-member etcd and 1-member cairn; whichever started is stopped if the other fails. */
async function startPair(): Promise<{ etcd: EtcdCluster; cairn: TestCluster }> {
  const [etcd, cairn] = await Promise.allSettled([
    EtcdCluster.start({ size: 1 }),
    TestCluster.start({ size: CAIRN_SIZE }),
  ]);
  if (etcd.status === "fulfilled" && cairn.status === "fulfilled") {
    return { etcd: etcd.value, cairn: cairn.value };
  }
  if (etcd.status === "fulfilled") await etcd.value.stop();
  if (cairn.status === "fulfilled") await cairn.value.stop();
  throw etcd.status === "rejected" ? etcd.reason : (cairn as PromiseRejectedResult).reason;
}

/** Runs `body` against a fresh etcd and a fresh cairn, then stops both. */
async function withPair(
  body: (etcd: DiffServer, cairn: DiffServer) => Promise<void>,
): Promise<void> {
  const { etcd, cairn } = await startPair();
  const channels: Client[] = [];
  try {
    await cairn.waitForLeader(15_000);
    const etcdChannel = openChannel(etcd.endpoints()[0] ?? "");
    const cairnChannels = cairn.members.map((m) => openChannel(m.client));
    channels.push(etcdChannel, ...cairnChannels);
    await body(new DiffServer("etcd", [etcdChannel]), new DiffServer("cairn", cairnChannels));
  } finally {
    for (const channel of channels) channel.close();
    await Promise.all([etcd.stop(), cairn.stop()]);
  }
}

describe.skipIf(etcdMissing !== null)(
  etcdMissing === null
    ? `differential: ${CAIRN_SIZE}-member cairn vs 1-member etcd 3.4, seeded (seed ${SEED})`
    : `differential: SKIPPED because ${etcdMissing}`,
  { timeout: 60_000 },
  () => {
    for (const { family, ops } of FAMILIES) {
      it(`${family}: ${ops} seeded operations get the same replies from cairn as from etcd`, () =>
        withPair((etcd, cairn) => runOps(family, familyOps(family, ops), etcd, cairn)));
    }
    for (const pinned of PINNED) {
      it(`pinned: ${pinned.name}`, () =>
        withPair((etcd, cairn) =>
          runOps(`pinned: ${pinned.name}`, (index) => pinned.ops[index] ?? null, etcd, cairn),
        ));
    }
  },
);
