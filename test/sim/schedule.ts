// fast-check arbitraries for simulation schedules: a network profile, a seed
// for the simulator's own randomness, and a list of operations (ticks,
// proposals, reads, crashes, restarts, partitions, message faults).

import fc from "fast-check";
import type { CrashPoint } from "./cluster.js";
import type { NetworkProfile } from "./network.js";

export type PartitionShape =
  | { readonly kind: "isolate"; readonly node: number }
  /** Cuts the current leader (if any) off from everyone. */
  | { readonly kind: "isolate-leader" }
  | { readonly kind: "split"; readonly mask: number }
  | { readonly kind: "one-way"; readonly from: number; readonly to: number };

/**
 * Node fields are 1-based node ids, or TARGET_LEADER (the leader with the
 * highest term) or TARGET_STALE_LEADER (the leader with the lowest term, i.e.
 * a deposed one that has not noticed yet, if any).
 */
export type Op =
  | { readonly kind: "tick"; readonly count: number }
  | { readonly kind: "propose"; readonly node: number }
  /** Several proposals handed to the core at once (RawNode.proposeBatch), as the server does. */
  | { readonly kind: "propose-batch"; readonly node: number; readonly count: number }
  | { readonly kind: "read"; readonly node: number }
  | { readonly kind: "deliver-early"; readonly pick: number }
  | { readonly kind: "duplicate"; readonly pick: number }
  | { readonly kind: "drop-burst"; readonly count: number }
  | {
      readonly kind: "crash";
      readonly node: number;
      readonly point: CrashPoint | "now";
      /** Ticks until the node restarts by itself; 0 waits for a restart op (or the end). */
      readonly downtimeTicks: number;
    }
  | { readonly kind: "restart"; readonly node: number }
  | { readonly kind: "partition"; readonly shape: PartitionShape }
  | { readonly kind: "heal" }
  | { readonly kind: "campaign"; readonly node: number }
  /** The node's next Ready write is slow: `count` messages are stepped in while it runs. */
  | { readonly kind: "slow-disk"; readonly node: number; readonly count: number }
  | { readonly kind: "transfer"; readonly node: number }
  /** Asks the leader to add (as learner or voter), promote or remove a node. */
  | {
      readonly kind: "membership";
      readonly change: "add-learner" | "add-voter" | "remove";
      readonly node: number;
    }
  /** Node `via` (any role) is asked to transfer leadership to `node`. */
  | { readonly kind: "transfer-via"; readonly node: number; readonly via: number };

export const TARGET_LEADER = 0;
export const TARGET_STALE_LEADER = -1;

export interface Schedule {
  readonly seed: number;
  readonly profile: NetworkProfile;
  readonly ops: readonly Op[];
}

export interface ScheduleBounds {
  readonly size: number;
  /** Nodes outside the initial configuration; > 0 enables membership ops. */
  readonly spares?: number;
  readonly opsMin: number;
  readonly opsMax: number;
}

const CRASH_POINTS: readonly (CrashPoint | "now")[] = [
  "now",
  "before-persist",
  "after-early-send",
  "after-persist",
  "after-send",
  "after-apply",
];

export function profileArbitrary(): fc.Arbitrary<NetworkProfile> {
  return fc.record({
    dropPermille: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 200 })),
    duplicatePermille: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 100 })),
    delayMinUnits: fc.integer({ min: 1, max: 3 }),
    delayMaxUnits: fc.integer({ min: 3, max: 25 }),
  });
}

function partitionArbitrary(size: number): fc.Arbitrary<PartitionShape> {
  const node = fc.integer({ min: 1, max: size });
  return fc.oneof(
    fc.record({ kind: fc.constant("isolate" as const), node }),
    fc.record({ kind: fc.constant("isolate-leader" as const) }),
    fc.record({
      kind: fc.constant("split" as const),
      mask: fc.integer({ min: 1, max: 2 ** size - 2 }),
    }),
    fc.record({ kind: fc.constant("one-way" as const), from: node, to: node }),
  );
}

function membershipArbitrary(nodes: number): fc.Arbitrary<Op> {
  return fc.record({
    kind: fc.constant("membership" as const),
    change: fc.constantFrom("add-learner" as const, "add-voter" as const, "remove" as const),
    node: fc.integer({ min: 1, max: nodes }),
  });
}

export function opArbitrary(size: number, spares = 0): fc.Arbitrary<Op> {
  const base = baseOpArbitrary(size);
  if (spares === 0) {
    return base;
  }
  return fc.oneof(
    { weight: 94, arbitrary: base },
    { weight: 6, arbitrary: membershipArbitrary(size + spares) },
  );
}

function baseOpArbitrary(size: number): fc.Arbitrary<Op> {
  const node = fc.integer({ min: 1, max: size });
  // Requests go to the leader half the time: that is where the interesting races are.
  const target = fc.oneof(fc.constant(TARGET_LEADER), fc.constant(TARGET_STALE_LEADER), node);
  const pick = fc.nat({ max: 1_000 });
  return fc.oneof(
    {
      weight: 40,
      arbitrary: fc.record({
        kind: fc.constant("tick" as const),
        count: fc.integer({ min: 1, max: 6 }),
      }),
    },
    { weight: 16, arbitrary: fc.record({ kind: fc.constant("propose" as const), node: target }) },
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant("propose-batch" as const),
        node: target,
        count: fc.integer({ min: 2, max: 4 }),
      }),
    },
    { weight: 8, arbitrary: fc.record({ kind: fc.constant("read" as const), node: target }) },
    { weight: 5, arbitrary: fc.record({ kind: fc.constant("deliver-early" as const), pick }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("duplicate" as const), pick }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("drop-burst" as const),
        count: fc.integer({ min: 1, max: 8 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("crash" as const),
        node: target,
        point: fc.constantFrom(...CRASH_POINTS),
        downtimeTicks: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 })),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("restart" as const), node }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant("partition" as const),
        shape: partitionArbitrary(size),
      }),
    },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("heal" as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("campaign" as const), node }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("transfer" as const), node }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant("transfer-via" as const), node, via: node }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant("slow-disk" as const),
        node: target,
        count: fc.integer({ min: 1, max: 6 }),
      }),
    },
  );
}

export function scheduleArbitrary(bounds: ScheduleBounds): fc.Arbitrary<Schedule> {
  return fc.record({
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    profile: profileArbitrary(),
    ops: fc.array(opArbitrary(bounds.size, bounds.spares ?? 0), {
      minLength: bounds.opsMin,
      maxLength: bounds.opsMax,
      // Use the whole length range: short schedules barely get past the first election.
      size: "max",
    }),
  });
}
