// Property: any sequence of Raft-legal persistRaft calls (appends that overlap
// and truncate the tail), commits, applies, compactions and reopens reloads to
// exactly the log, hard state and applied index of a plain in-memory model.

import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import type { Entry, HardState } from "../../src/raft/types.js";
import { DiskStore } from "../../src/storage/index.js";
import { plain, TmpDirs } from "./helpers.js";

type Op =
  | { kind: "append"; back: number; count: number; newTerm: boolean; seed: number }
  | { kind: "commit"; step: number }
  | { kind: "apply"; step: number }
  | { kind: "compact"; step: number }
  | { kind: "reopen" };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("append" as const),
      back: fc.nat({ max: 6 }),
      count: fc.nat({ max: 5 }),
      newTerm: fc.boolean(),
      seed: fc.nat({ max: 1000 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("commit" as const), step: fc.nat(4) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("apply" as const), step: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("compact" as const), step: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("reopen" as const) }) },
);

/** The dumb oracle: an array that starts at firstIndex. */
class LogModel {
  firstIndex = 1;
  entries: Entry[] = [];
  hardState: HardState = { term: 0, vote: 0, commit: 0 };
  applied = 0;

  get lastIndex(): number {
    return this.firstIndex + this.entries.length - 1;
  }

  /** Like a follower told to append at `start`: keep the prefix, replace the rest. */
  append(start: number, batch: Entry[], hardState: HardState): void {
    this.entries = [...this.entries.slice(0, start - this.firstIndex), ...batch];
    this.hardState = hardState;
  }

  compact(beforeIndex: number): void {
    if (beforeIndex <= this.firstIndex) return;
    this.entries = this.entries.slice(beforeIndex - this.firstIndex);
    this.firstIndex = beforeIndex;
  }
}

function makeEntries(start: number, count: number, term: number, seed: number): Entry[] {
  return Array.from({ length: count }, (_, i) => ({
    index: start + i,
    term,
    kind: (seed + i) % 5 === 0 ? ("conf-change" as const) : ("normal" as const),
    data: new TextEncoder().encode(`${seed}:${start + i}`.repeat((seed % 3) + 1)),
  }));
}

class Harness {
  readonly model = new LogModel();
  private constructor(
    private store: DiskStore,
    private readonly dir: string,
  ) {}

  static async create(dir: string): Promise<Harness> {
    const store = await DiskStore.open(dir);
    await store.load();
    return new Harness(store, dir);
  }

  async run(op: Op): Promise<void> {
    const model = this.model;
    switch (op.kind) {
      case "append": {
        // Raft replaces only uncommitted entries and never goes below the log start.
        const lowest = Math.max(model.firstIndex, model.hardState.commit + 1);
        const start = Math.max(lowest, model.lastIndex + 1 - op.back);
        const term = Math.max(1, model.hardState.term + (op.newTerm ? 1 : 0));
        const batch = makeEntries(start, op.count, term, op.seed);
        const hardState = { ...model.hardState, term };
        if (op.count === 0 && start <= model.lastIndex) return; // an empty append truncates nothing
        await this.store.persistRaft(batch, hardState);
        if (op.count > 0) model.append(start, batch, hardState);
        else model.hardState = hardState;
        return;
      }
      case "commit": {
        const commit = Math.min(model.lastIndex, model.hardState.commit + op.step);
        const hardState = { ...model.hardState, commit };
        await this.store.persistRaft([], hardState);
        model.hardState = hardState;
        return;
      }
      case "apply": {
        const applied = Math.min(model.hardState.commit, model.applied + op.step);
        if (applied <= model.applied) return;
        await this.store.applyState([], applied);
        model.applied = applied;
        return;
      }
      case "compact": {
        const before = Math.min(model.applied + 1, model.firstIndex + op.step);
        await this.store.compactLog(before);
        model.compact(before);
        return;
      }
      case "reopen":
        await this.reopenAndCheck();
        return;
    }
  }

  async reopenAndCheck(): Promise<void> {
    await this.store.close();
    this.store = await DiskStore.open(this.dir);
    const loaded = await this.store.load();
    expect(plain(loaded.entries)).toEqual(plain(this.model.entries));
    expect(loaded.firstIndex).toBe(this.model.firstIndex);
    expect(loaded.hardState).toEqual(this.model.hardState);
    expect(loaded.appliedIndex).toBe(this.model.applied);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

const dirs = new TmpDirs();

afterAll(async () => {
  await dirs.cleanup();
});

describe("persistRaft against an in-memory log model", () => {
  it("reloads to the model after any legal sequence of writes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArbitrary, { minLength: 1, maxLength: 30 }), async (ops) => {
        const harness = await Harness.create(await dirs.make("model"));
        try {
          for (const op of ops) {
            await harness.run(op);
          }
          await harness.reopenAndCheck();
        } finally {
          await harness.close();
        }
      }),
      { numRuns: 80 },
    );
  });
});
