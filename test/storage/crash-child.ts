// Child process for crash.test.ts: replays state the way a restarting node
// does, then appends synced batches forever, printing "ack <lastIndex>" only
// after each persistRaft resolves. The parent SIGKILLs it at a random moment.
// Run: node --import tsx test/storage/crash-child.ts <dataDir>

import type { Entry } from "../../src/raft/types.js";
import { DiskStore } from "../../src/storage/index.js";
import { crashPayload, rowKey } from "./crash-shared.js";

const TERM = 1;

async function main(dataDir: string): Promise<void> {
  const store = await DiskStore.open(dataDir);
  const loaded = await store.load();
  let lastIndex = loaded.firstIndex + loaded.entries.length - 1;
  // Everything persisted here was committed in the same batch, so it is all applied on replay.
  for (let index = loaded.appliedIndex + 1; index <= loaded.hardState.commit; index++) {
    await applyThrough(store, index, index);
  }
  process.stdout.write(`ready ${lastIndex}\n`);
  for (;;) {
    const count = 1 + (lastIndex % 4);
    const batch: Entry[] = [];
    for (let index = lastIndex + 1; index <= lastIndex + count; index++) {
      batch.push({ index, term: TERM, kind: "normal", data: crashPayload(index) });
    }
    await store.persistRaft(batch, { term: TERM, vote: 1, commit: lastIndex + count });
    const from = lastIndex + 1;
    lastIndex += count;
    // Pipes are synchronous on Linux: once written, the parent will see the line.
    process.stdout.write(`ack ${lastIndex}\n`);
    await applyThrough(store, from, lastIndex);
  }
}

/** One state batch: a row per applied index plus a counter that must equal the applied index. */
async function applyThrough(store: DiskStore, from: number, through: number): Promise<void> {
  const writes = [];
  for (let index = from; index <= through; index++) {
    writes.push({ table: "rows", key: rowKey(index), value: crashPayload(index) });
  }
  writes.push({ table: "counter", key: rowKey(0), value: rowKey(through) });
  await store.applyState(writes, through);
}

const dataDir = process.argv[2];
if (dataDir === undefined) {
  process.stderr.write("usage: crash-child.ts <dataDir>\n");
  process.exit(2);
}
main(dataDir).catch((error: unknown) => {
  process.stderr.write(`crash child failed: ${String(error)}\n`);
  process.exit(1);
});
