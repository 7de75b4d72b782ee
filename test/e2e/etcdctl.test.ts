// etcdctl 3.4 (Debian etcd-client) against a real 3-member cairn cluster,
// one member per call in rotation so followers serve as much as the leader.
// The same cases then run against a real 3-member etcd from the launcher:
// a case that fails there has a wrong expectation, not a cairn bug.
// Without etcdctl the whole file skips, saying why and how to install it.
import { afterAll, beforeAll, describe, it } from "vitest";
import {
  ETCD_INSTALL_COMMAND,
  EtcdCluster,
  etcdctlBinary,
  etcdMissingReason,
} from "../../cluster/etcd-cluster.js";
import { CLUSTER_CASES } from "./etcdctl-cases-cluster.js";
import { type CtlCase, KV_CASES } from "./etcdctl-cases-kv.js";
import { Etcdctl } from "./etcdctl-process.js";
import { CtlSession, type Target } from "./etcdctl-session.js";
import { TestCluster } from "./harness.js";

const CASES: readonly CtlCase[] = [...KV_CASES, ...CLUSTER_CASES];
const CLUSTER_SIZE = 3;

const binary = etcdctlBinary();
const ctlMissing =
  binary === null ? `etcdctl is not installed; install it with: ${ETCD_INSTALL_COMMAND}` : null;
const etcdMissing = etcdMissingReason();
if (ctlMissing !== null) console.warn(`[etcdctl e2e] SKIPPED: ${ctlMissing}`);
else if (etcdMissing !== null)
  console.warn(`[etcdctl e2e] reference run against real etcd SKIPPED: ${etcdMissing}`);

function registerCases(session: () => CtlSession, target: "cairn" | "etcd"): void {
  for (const testCase of CASES) {
    if (target === "cairn" && testCase.cairnKnownFailure !== undefined) {
      it.fails(`${testCase.name} [expected to fail on cairn: ${testCase.cairnKnownFailure}]`, () =>
        testCase.run(session()));
    } else {
      it(testCase.name, () => testCase.run(session()));
    }
  }
}

describe.skipIf(ctlMissing !== null)(
  ctlMissing === null
    ? `etcdctl 3.4 → cairn (${CLUSTER_SIZE} members)`
    : `etcdctl 3.4 → cairn: SKIPPED because ${ctlMissing}`,
  { timeout: 60_000 },
  () => {
    let cluster: TestCluster | undefined;
    let session: CtlSession | undefined;
    beforeAll(async () => {
      cluster = await TestCluster.start({ size: CLUSTER_SIZE });
      await cluster.waitForLeader(15_000);
      const target: Target = {
        label: "cairn",
        members: cluster.members.map((m) => ({ name: m.name, client: m.client, peer: m.peer })),
      };
      session = new CtlSession(new Etcdctl(binary ?? "etcdctl"), target);
    });
    afterAll(async () => {
      await cluster?.stop();
    });
    registerCases(() => {
      if (session === undefined) throw new Error("cairn cluster did not start");
      return session;
    }, "cairn");
  },
);

describe.skipIf(ctlMissing !== null || etcdMissing !== null)(
  ctlMissing === null && etcdMissing === null
    ? `etcdctl 3.4 → real etcd 3.4 (${CLUSTER_SIZE} members): the expectations themselves`
    : `etcdctl 3.4 → real etcd: SKIPPED because ${ctlMissing ?? etcdMissing}`,
  { timeout: 60_000 },
  () => {
    let cluster: EtcdCluster | undefined;
    let session: CtlSession | undefined;
    beforeAll(async () => {
      cluster = await EtcdCluster.start({ size: CLUSTER_SIZE });
      const target: Target = { label: "etcd", members: cluster.members };
      session = new CtlSession(new Etcdctl(binary ?? "etcdctl"), target);
    });
    afterAll(async () => {
      await cluster?.stop();
    });
    registerCases(() => {
      if (session === undefined) throw new Error("etcd cluster did not start");
      return session;
    }, "etcd");
  },
);
