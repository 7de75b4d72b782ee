// Child process for write-behind.test.ts: opens a store with the no-fsync
// page-cache emulation, writes, prints "acked", and waits to be SIGKILLed.
// Mode "unsynced": entries 1..3 unsynced only. Mode "then-synced": the same,
// then one synced hard-state write, which must carry them out with it.
// Run: node --import tsx test/storage/write-behind-child.ts <dataDir> <mode>
import { DiskStore } from "../../src/storage/index.js";
import { entries } from "./helpers.js";

async function main(dataDir: string, mode: string): Promise<void> {
  const store = await DiskStore.open(dataDir, { unsafeWriteBehindMs: 600_000 });
  await store.load();
  await store.persistRaft(
    entries(1, 3, 1),
    { term: 1, vote: 1, commit: 0 },
    {
      sync: false,
      unsafeUnsyncedEntries: true,
    },
  );
  if (mode === "then-synced") {
    await store.persistRaft([], { term: 1, vote: 1, commit: 3 }, { sync: true });
  }
  process.stdout.write("acked\n");
  setInterval(() => undefined, 1_000);
}

const [dataDir, mode] = process.argv.slice(2);
if (dataDir === undefined || mode === undefined) throw new Error("usage: <dataDir> <mode>");
await main(dataDir, mode);
