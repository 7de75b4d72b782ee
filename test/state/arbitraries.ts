// fast-check generators of command streams over a small keyspace, so that
// keys collide, ranges overlap, leases get reused and compactions hit live
// history. Ops are descriptors resolved against the current revisions when
// they run, so compactions and historic reads aim at interesting revisions.
import fc from "fast-check";
import type { Command, Compare, RequestOp } from "../../src/state/command.js";
import { cmp, compactTo, delOp, grant, putOp, rangeOp, renew, revoke, txnOp } from "./helpers.js";

export const KEYS = ["a", "ab", "b", "c", "d"] as const;
const ENDS = ["", "", "b", "c", "\0"] as const;
export const LEASE_IDS = [1, 2, 3] as const;

const key = fc.constantFrom(...KEYS);
const value = fc.string({ maxLength: 3 });
const lease = fc.constantFrom(0, 0, 0, 0, 0, 0, ...LEASE_IDS);

const putArb: fc.Arbitrary<RequestOp> = fc
  .record({
    key,
    value,
    lease,
    flag: fc.constantFrom(
      "none",
      "none",
      "none",
      "none",
      "none",
      "prevKv",
      "ignoreValue",
      "ignoreLease",
    ),
  })
  .map(({ key, value, lease, flag }) =>
    putOp(key, flag === "ignoreValue" ? "" : value, {
      lease: flag === "ignoreLease" ? 0 : lease,
      ignoreValue: flag === "ignoreValue",
      ignoreLease: flag === "ignoreLease",
      prevKv: flag === "prevKv",
    }),
  );

const delArb: fc.Arbitrary<RequestOp> = fc
  .record({ key, end: fc.constantFrom(...ENDS) })
  .map(({ key, end }) => delOp(key, end));

const rangeArb: fc.Arbitrary<RequestOp> = fc
  .record({ key, end: fc.constantFrom(...ENDS), limit: fc.constantFrom(0, 0, 1, 2) })
  .map(({ key, end, limit }) => rangeOp(key, end, { limit }));

const compareArb: fc.Arbitrary<Compare> = fc.oneof(
  fc.record({ key, value }).map(({ key, value }) => cmp(key, "value", "equal", value)),
  fc
    .record({
      key,
      target: fc.constantFrom(
        "version" as const,
        "create" as const,
        "mod" as const,
        "lease" as const,
      ),
      result: fc.constantFrom(
        "equal" as const,
        "greater" as const,
        "less" as const,
        "not-equal" as const,
      ),
      operand: fc.integer({ min: 0, max: 6 }),
      end: fc.constantFrom("", "", "\0"),
    })
    .map(({ key, target, result, operand, end }) => cmp(key, target, result, operand, end)),
);

const flatOp = fc.oneof(putArb, putArb, delArb, rangeArb);
const nestedTxn: fc.Arbitrary<RequestOp> = fc
  .record({
    compare: fc.array(compareArb, { maxLength: 2 }),
    success: fc.array(flatOp, { maxLength: 2 }),
    failure: fc.array(flatOp, { maxLength: 2 }),
  })
  .map((request) => txnOp(request));
const txnBranch = fc.array(
  fc.oneof({ weight: 5, arbitrary: flatOp }, { weight: 1, arbitrary: nestedTxn }),
  {
    maxLength: 4,
  },
);

/** One step of a generated history. */
/** A history long enough to build revisions worth compacting and reading back. */
export const historyArb = (maxLength: number): fc.Arbitrary<OpDescriptor[]> =>
  fc.array(opArb, { minLength: Math.min(20, maxLength), maxLength, size: "max" });

export type OpDescriptor =
  | { readonly kind: "request"; readonly op: RequestOp }
  | {
      readonly kind: "txn";
      readonly compare: readonly Compare[];
      readonly success: readonly RequestOp[];
      readonly failure: readonly RequestOp[];
    }
  /** Compact somewhere between (compact revision - 1) and (current revision + 1). */
  | { readonly kind: "compact"; readonly where: number }
  | { readonly kind: "grant"; readonly leaseId: number; readonly ttlSeconds: number }
  | { readonly kind: "revoke"; readonly leaseId: number }
  | { readonly kind: "renew"; readonly leaseId: number }
  | { readonly kind: "tick"; readonly ms: number };

export const opArb: fc.Arbitrary<OpDescriptor> = fc.oneof(
  { weight: 8, arbitrary: putArb.map((op) => ({ kind: "request" as const, op })) },
  { weight: 3, arbitrary: delArb.map((op) => ({ kind: "request" as const, op })) },
  {
    weight: 3,
    arbitrary: fc
      .record({
        compare: fc.array(compareArb, { maxLength: 2 }),
        success: txnBranch,
        failure: txnBranch,
      })
      .map((request) => ({ kind: "txn" as const, ...request })),
  },
  {
    weight: 2,
    arbitrary: fc
      .integer({ min: 0, max: 100 })
      .map((where) => ({ kind: "compact" as const, where: where / 100 })),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({
        leaseId: fc.constantFrom(0, ...LEASE_IDS),
        ttlSeconds: fc.integer({ min: 1, max: 20 }),
      })
      .map((grant) => ({ kind: "grant" as const, ...grant })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(...LEASE_IDS)
      .map((leaseId) => ({ kind: "revoke" as const, leaseId })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(...LEASE_IDS)
      .map((leaseId) => ({ kind: "renew" as const, leaseId })),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1, max: 8_000 }).map((ms) => ({ kind: "tick" as const, ms })),
  },
);

export interface ResolveContext {
  readonly revision: number;
  readonly compactRevision: number;
  readonly nowMs: number;
}

/** Turns a descriptor into a command given where the store is now (null for a tick). */
export function toCommand(op: OpDescriptor, context: ResolveContext, id: number): Command | null {
  const base = { v: 1 as const, id, at: context.nowMs };
  switch (op.kind) {
    case "request": {
      const { op: request } = op;
      if (request.kind === "put" || request.kind === "delete-range") return { ...base, ...request };
      return null;
    }
    case "txn":
      return {
        ...base,
        kind: "txn",
        compare: op.compare,
        success: op.success,
        failure: op.failure,
      };
    case "compact": {
      const low = context.compactRevision - 1;
      const high = context.revision + 1;
      return {
        ...compactTo(Math.max(0, Math.round(low + op.where * (high - low)))),
        id,
        at: context.nowMs,
      };
    }
    case "grant":
      return { ...grant(op.leaseId, op.ttlSeconds, context.nowMs), id };
    case "revoke":
      return { ...revoke(op.leaseId), id, at: context.nowMs };
    case "renew":
      return { ...renew(op.leaseId, context.nowMs), id };
    case "tick":
      return null;
  }
}
