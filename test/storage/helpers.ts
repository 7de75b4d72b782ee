// Shared fixtures for the storage tests: throwaway data dirs under the OS tmp
// dir, entry builders, and a raw LevelDB handle for writing damaged records.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import type { Entry, EntryKind, LogIndex, Term } from "../../src/raft/types.js";

export type RawDb = ClassicLevel<Uint8Array, Uint8Array>;

/** Creates data dirs and removes them all in `cleanup` (call from afterEach/afterAll). */
export class TmpDirs {
  private readonly dirs: string[] = [];

  async make(label = "store"): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), `cairn-storage-${label}-`));
    this.dirs.push(dir);
    return dir;
  }

  async cleanup(): Promise<void> {
    const dirs = this.dirs.splice(0);
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

export function entry(index: LogIndex, term: Term, kind: EntryKind = "normal"): Entry {
  return { index, term, kind, data: new TextEncoder().encode(`cmd ${index}@${term}`) };
}

/** Contiguous entries [from, to], all in one term. */
export function entries(from: LogIndex, to: LogIndex, term: Term): Entry[] {
  const out: Entry[] = [];
  for (let index = from; index <= to; index++) {
    out.push(entry(index, term));
  }
  return out;
}

/** Comparable shape of entries (Uint8Array identity and Buffer vs Uint8Array do not matter). */
export function plain(list: readonly Entry[]): Array<[LogIndex, Term, EntryKind, string]> {
  return list.map((e) => [e.index, e.term, e.kind, Buffer.from(e.data).toString("hex")]);
}

export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function text(value: Uint8Array | undefined): string | undefined {
  return value === undefined ? undefined : new TextDecoder().decode(value);
}

/** Opens the data dir directly, bypassing DiskStore, to plant damaged records. */
export async function withRawDb(dir: string, body: (db: RawDb) => Promise<void>): Promise<void> {
  const db: RawDb = new ClassicLevel<Uint8Array, Uint8Array>(dir, {
    keyEncoding: "view",
    valueEncoding: "view",
  });
  await db.open();
  try {
    await body(db);
  } finally {
    await db.close();
  }
}
