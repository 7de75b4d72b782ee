// Determinism and persistence of the platform tables: random streams of
// platform, lease and KV commands, sent through the command codec, give two
// members byte-identical writes, results and events; the state rebuilt from
// the persisted rows (in any row order) equals the live one and goes on
// producing the same writes.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Applied } from "../../../src/state/apply-result.js";
import { type Command, decodeCommand, encodeCommand } from "../../../src/state/command.js";
import type { LifecycleAction } from "../../../src/state/platform/lifecycle.js";
import type { Resource } from "../../../src/state/platform/resource-types.js";
import { StateDigester } from "../../../src/state/state-digest.js";
import { StateMachine } from "../../../src/state/state-machine.js";
import type { TableWrite } from "../../../src/state/table-write.js";
import { dumpState, put, TableStore } from "../helpers.js";
import {
  acquire,
  clock,
  cluster,
  command,
  create,
  databaseSpec,
  dumpPlatform,
  join,
  leaseGrant,
  leaseRevoke,
  lifecycle,
  register,
  release,
  token,
  update,
} from "./helpers.js";

const ACTORS = ["root", "ops", "vic", "", "ghost"] as const;
const LEASES = [1, 2, 3] as const;

const opArb = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant("create" as const),
      actor: fc.constantFrom(...ACTORS),
      db: fc.boolean(),
      name: fc.constantFrom("a", "b", "c"),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("update" as const),
      pick: fc.nat(),
      name: fc.constantFrom("x", "y", "BAD NAME"),
      stale: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("lifecycle" as const),
      pick: fc.nat(),
      action: fc.constantFrom<LifecycleAction>("start", "stop", "restart", "delete", "fail"),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("install" as const),
      pick: fc.nat(),
      version: fc.constantFrom("1.0", "2.0"),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("register" as const),
      name: fc.constantFrom("amy", "bob", "ops"),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("login" as const),
      user: fc.constantFrom("vic", "ops", "amy"),
      n: fc.nat({ max: 5 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("logout" as const),
      actor: fc.constantFrom(...ACTORS),
      n: fc.nat({ max: 5 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant("lease" as const), lease: fc.constantFrom(...LEASES) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("revoke" as const), lease: fc.constantFrom(...LEASES) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("acquire" as const),
      name: fc.constantFrom("l1", "l2"),
      lease: fc.constantFrom(0, ...LEASES),
      wait: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("release" as const),
      name: fc.constantFrom("l1", "l2"),
      lease: fc.constantFrom(...LEASES),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("join" as const),
      member: fc.constantFrom("n1", "n2", "n3"),
      lease: fc.constantFrom(...LEASES),
      weight: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("leave" as const),
      member: fc.constantFrom("n1", "n2", "n3"),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("put" as const),
      key: fc.constantFrom("k1", "k2"),
      lease: fc.constantFrom(0, ...LEASES),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("tick" as const),
      ms: fc.constantFrom(1, 1_000, 120_000),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("retention" as const) }) },
);

type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

/** Resolves an op against the probe's state (resource ids, versions) into a command. */
function toCommand(op: Op, probe: StateMachine): Command | null {
  const resources = [...probe.platform.resources.all()];
  const pick = (n: number) => resources[n % Math.max(1, resources.length)] as Resource | undefined;
  switch (op.op) {
    case "create":
      return create(op.actor, { name: op.name, ...(op.db ? { spec: databaseSpec() } : {}) });
    case "update": {
      const target = pick(op.pick);
      if (target === undefined) return null;
      return update(
        "ops",
        target.id,
        { name: op.name },
        { expectedVersion: op.stale ? 1 : target.version },
      );
    }
    case "lifecycle": {
      const target = pick(op.pick);
      return target === undefined ? null : lifecycle("ops", target.id, op.action);
    }
    case "install": {
      const target = pick(op.pick);
      if (target === undefined) return null;
      return command("resource-install", "root", {
        resourceId: target.id,
        software: { name: "nginx", version: op.version },
        fence: null,
      });
    }
    case "register":
      return register(op.name);
    case "login": {
      const user = probe.platform.users.get(op.user);
      return command("user-login", "", {
        username: op.user,
        userVersion: user?.version ?? 1,
        tokenHash: token(op.n),
        ttlMs: 60_000,
      });
    }
    case "logout":
      return command("user-logout", op.actor, { tokenHash: token(op.n) });
    case "lease":
      return probe.leases.has(op.lease) ? null : leaseGrant(op.lease, 30);
    case "revoke":
      return leaseRevoke(op.lease);
    case "acquire":
      return acquire("ops", op.name, op.lease, op.wait, 20);
    case "release":
      return release("ops", op.name, op.lease);
    case "join":
      return join("ops", "web", op.member, op.lease, op.weight);
    case "leave":
      return command("member-leave", "ops", { group: "web", memberId: op.member });
    case "put":
      return put(op.key, "v", { lease: op.lease });
    case "retention":
      return command("oplog-retention", "root", { maxRecords: 100, maxAgeMs: 300_000 });
    case "tick":
      clock.at += op.ms;
      return null;
  }
}

/** The fixture's registrations followed by the ops, resolved once so every member gets the same bytes. */
function commandsOf(ops: readonly Op[]): Command[] {
  const probe = cluster();
  const commands: Command[] = [
    register("root"),
    register("ops", "root", ["operator"]),
    register("vic"),
  ];
  for (const op of ops) {
    const next = toCommand(op, probe.sm);
    if (next === null) continue;
    probe.apply(next);
    commands.push(next);
  }
  return commands.map((c) => decodeCommand(encodeCommand(c)));
}

const bytesOf = (writes: readonly TableWrite[]) =>
  writes.map(
    (w) =>
      `${w.table}|${Buffer.from(w.key).toString("hex")}|${w.value === null ? "-" : Buffer.from(w.value).toString("hex")}`,
  );

function run(sm: StateMachine, store: TableStore, commands: readonly Command[]): Applied[] {
  return commands.map((c) => {
    const applied = sm.apply(c);
    store.apply(applied.writes);
    return applied;
  });
}

/** The state digest of the rows a member persisted, as the disk holds them. */
function digestOfRows(store: TableStore) {
  const digester = new StateDigester(StateMachine.digestTables);
  for (const row of store.rows.values()) {
    if (StateMachine.digestTables.includes(row.table))
      digester.visit(row.table, row.key, row.value);
  }
  return digester.result();
}

function fresh() {
  const store = new TableStore();
  return { store, sm: store.reload() };
}

describe("platform determinism", () => {
  it("two members write the same bytes, answer alike and reload to the same state", () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 10, maxLength: 80 }), fc.nat(), (ops, seed) => {
        const commands = commandsOf(ops);
        const half = Math.floor(commands.length / 2);
        const one = fresh();
        const two = fresh();
        const first = run(one.sm, one.store, commands.slice(0, half));
        const second = run(two.sm, two.store, commands.slice(0, half));
        expect(first.flatMap((a) => bytesOf(a.writes))).toEqual(
          second.flatMap((a) => bytesOf(a.writes)),
        );
        expect(first.map((a) => [a.result, a.events, a.platform])).toEqual(
          second.map((a) => [a.result, a.events, a.platform]),
        );
        // The state digest re-encodes memory: it must equal the digest of the
        // persisted rows, or healthy members would be reported corrupt.
        expect(one.sm.digestTables()).toEqual(digestOfRows(one.store));
        expect(two.sm.digestTables()).toEqual(one.sm.digestTables());
        // A member restarted from its rows (in any order) is the same member.
        const reloaded = one.store.reload(seed % 5 === 0 ? 0 : seed);
        expect(dumpPlatform(reloaded)).toEqual(dumpPlatform(one.sm));
        expect(dumpState(reloaded)).toEqual(dumpState(one.sm));
        expect(reloaded.digestTables()).toEqual(one.sm.digestTables());
        const rest = commands.slice(half);
        const live = run(one.sm, one.store, rest);
        const restarted = run(reloaded, new TableStore(), rest);
        expect(restarted.flatMap((a) => bytesOf(a.writes))).toEqual(
          live.flatMap((a) => bytesOf(a.writes)),
        );
        expect(restarted.map((a) => a.result)).toEqual(live.map((a) => a.result));
        expect(reloaded.digestTables()).toEqual(one.sm.digestTables());
        expect(one.sm.digestTables()).toEqual(digestOfRows(one.store));
        expect(dumpPlatform(one.store.reload())).toEqual(dumpPlatform(one.sm));
      }),
      { numRuns: 60 },
    );
  });
});
