// hashKv (Maintenance.HashKV) and the persisted encodings: the hash of a
// revision does not depend on what happened after it, changes with any byte
// of history, and refuses compacted/future revisions; revision keys sort in
// revision order and rows round-trip.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Command } from "../../src/state/command.js";
import { decodeVersionRow, encodeVersionRow } from "../../src/state/mvcc/key-value.js";
import { decodeRevisionKey, encodeRevisionKey } from "../../src/state/mvcc/revision.js";
import { historyArb, toCommand } from "./arbitraries.js";
import { compactTo, del, plain, put, run } from "./helpers.js";

function commandsOf(ops: Parameters<typeof toCommand>[0][]): Command[] {
  const { sm } = run([]);
  const commands: Command[] = [];
  for (const op of ops) {
    const context = { revision: sm.kv.revision, compactRevision: sm.kv.compactRevision, nowMs: 0 };
    const command = toCommand(op, context, commands.length + 1);
    if (command === null) continue;
    sm.apply(command);
    commands.push(command);
  }
  return commands;
}

describe("hashKv", () => {
  it("revision 0 hashes the current revision and reports the compact revision", () => {
    const { sm } = run([put("a", "1"), put("b", "2"), compactTo(2)]);
    const hash = sm.hashKv(0);
    expect(hash).toMatchObject({ kind: "hash", hashRevision: 3, revision: 3, compactRevision: 2 });
    expect(sm.hashKv(3)).toEqual(hash);
  });

  it("at or below the compact revision is Compacted, above the current one FutureRev", () => {
    const { sm } = run([put("a", "1"), put("b", "2"), compactTo(2)]);
    expect(sm.hashKv(2)).toEqual({ kind: "error", code: "compacted", compactRevision: 2 });
    expect(sm.hashKv(4)).toEqual({ kind: "error", code: "future-rev", compactRevision: 2 });
  });

  it("any difference in history changes the hash", () => {
    const base = run([put("a", "1"), put("b", "2")]).sm.hashKv(0);
    expect(run([put("a", "1"), put("b", "3")]).sm.hashKv(0)).not.toEqual(base);
    expect(run([put("b", "2"), put("a", "1")]).sm.hashKv(0)).not.toEqual(base);
    const later = run([put("a", "1"), put("b", "2"), del("a")]).sm.hashKv(3);
    expect(later).toEqual({ ...base, revision: 4 });
  });

  it("the hash of a revision is the same on a member that has gone further", () => {
    fc.assert(
      fc.property(historyArb(50), fc.integer({ min: 0, max: 1000 }), (ops, at) => {
        const commands = commandsOf(ops);
        const cut = at % (commands.length + 1);
        const behind = run(commands.slice(0, cut)).sm;
        const ahead = run(commands).sm;
        // Both must have compacted at the same revision, as members do through Raft.
        if (ahead.kv.compactRevision !== behind.kv.compactRevision) return;
        // etcd refuses a hash at the compact revision itself (only 0 = current is allowed there).
        if (behind.kv.revision <= behind.kv.compactRevision) return;
        expect(ahead.hashKv(behind.kv.revision)).toEqual({
          ...behind.hashKv(0),
          revision: ahead.kv.revision,
        });
      }),
      { numRuns: 150 },
    );
  });
});

describe("encodings", () => {
  it("revision keys are 12 bytes and sort like (main, sub)", () => {
    const revisions = [
      { main: 1, sub: 0 },
      { main: 1, sub: 7 },
      { main: 2, sub: 0 },
      { main: 255, sub: 1 },
      { main: 256, sub: 0 },
      { main: 2 ** 32 + 1, sub: 0 },
      { main: Number.MAX_SAFE_INTEGER, sub: 2 ** 32 - 1 },
    ];
    const keys = revisions.map(encodeRevisionKey);
    expect(keys.every((k) => k.byteLength === 12)).toBe(true);
    const sorted = [...keys].sort(Buffer.compare);
    expect(sorted.map(decodeRevisionKey)).toEqual(revisions);
  });

  it("version rows round-trip, tombstones included", () => {
    const { sm } = run([put("k\u00ff", "v\u0000x"), del("k\u00ff")]);
    for (const version of sm.kv.history) {
      const row = encodeVersionRow(version);
      const decoded = decodeVersionRow(row.key, row.value);
      expect({ ...decoded, kv: plain(decoded.kv) }).toEqual({ ...version, kv: plain(version.kv) });
    }
  });
});
