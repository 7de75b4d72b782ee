// Determinism and persistence: the same command stream gives byte-identical
// writes, results, events and hashKv on two members; the state rebuilt from
// its own persisted rows (through loadRow, in any row order) equals the live
// state, compaction and leases included, and keeps producing the same writes.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Command, decodeCommand, encodeCommand } from "../../src/state/command.js";
import type { StateMachine } from "../../src/state/state-machine.js";
import type { TableWrite } from "../../src/state/table-write.js";
import { historyArb, type OpDescriptor, toCommand } from "./arbitraries.js";
import { dumpState, run } from "./helpers.js";

/** Resolves descriptors against one replay, so every member gets the very same commands. */
function commandsOf(ops: readonly OpDescriptor[]): Command[] {
  const commands: Command[] = [];
  let nowMs = 1_000_000;
  let probe = run([]).sm;
  for (const op of ops) {
    if (op.kind === "tick") {
      nowMs += op.ms;
      continue;
    }
    const context = {
      revision: probe.kv.revision,
      compactRevision: probe.kv.compactRevision,
      nowMs,
    };
    const command = toCommand(op, context, commands.length + 1);
    if (command === null) continue;
    commands.push(command);
    probe = applyAll(probe, [command]);
  }
  return commands;
}

function applyAll(sm: StateMachine, commands: readonly Command[]): StateMachine {
  for (const command of commands) sm.apply(command);
  return sm;
}

const wire = (commands: readonly Command[]) => commands.map((c) => decodeCommand(encodeCommand(c)));
const writeBytes = (writes: readonly TableWrite[]) =>
  writes.map(
    (w) =>
      `${w.table}|${Buffer.from(w.key).toString("hex")}|${w.value === null ? "-" : Buffer.from(w.value).toString("hex")}`,
  );

describe("determinism", () => {
  it("two members applying the same entries write the same bytes and hash alike", () => {
    fc.assert(
      fc.property(historyArb(50), (ops) => {
        const commands = commandsOf(ops);
        const one = run(wire(commands));
        const two = run(wire(commands));
        expect(one.applied.flatMap((a) => writeBytes(a.writes))).toEqual(
          two.applied.flatMap((a) => writeBytes(a.writes)),
        );
        expect(one.applied.map((a) => a.result)).toEqual(two.applied.map((a) => a.result));
        expect(one.applied.map((a) => a.events)).toEqual(two.applied.map((a) => a.events));
        expect(one.sm.hashKv(0)).toEqual(two.sm.hashKv(0));
        for (
          let revision = one.sm.kv.compactRevision + 1;
          revision <= one.sm.kv.revision;
          revision++
        ) {
          expect(one.sm.hashKv(revision)).toEqual(two.sm.hashKv(revision));
        }
      }),
      { numRuns: 120 },
    );
  });
});

describe("persistence", () => {
  it("state reloaded from its own rows equals the live state, in any row order", () => {
    fc.assert(
      fc.property(historyArb(50), fc.integer({ min: 0, max: 1000 }), (ops, seed) => {
        const { sm, store } = run(commandsOf(ops));
        expect(dumpState(store.reload())).toEqual(dumpState(sm));
        expect(dumpState(store.reload(seed + 1))).toEqual(dumpState(sm));
      }),
      { numRuns: 120 },
    );
  });

  it("a reloaded member keeps writing exactly what the live one writes", () => {
    fc.assert(
      fc.property(historyArb(40), historyArb(30), (before, after) => {
        const all = commandsOf([...before, ...after]);
        const cut = Math.min(all.length, commandsOf(before).length);
        const live = run(all.slice(0, cut));
        const reloaded = live.store.reload();
        for (const command of all.slice(cut)) {
          expect(writeBytes(reloaded.apply(command).writes)).toEqual(
            writeBytes(live.sm.apply(command).writes),
          );
        }
        expect(dumpState(reloaded)).toEqual(dumpState(live.sm));
      }),
      { numRuns: 80 },
    );
  });
});
