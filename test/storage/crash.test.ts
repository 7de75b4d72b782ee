// kill -9 durability: a child process appends synced batches and reports each
// acknowledged index; after SIGKILL at a random moment every acknowledged
// entry must reload with a valid CRC, and the unsynced state batches must be
// all-or-nothing with their applied index. Repeated on one data dir, so each
// round also recovers from the previous crash.

import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { DiskStore } from "../../src/storage/index.js";
import { crashPayload, rowIndex } from "./crash-shared.js";
import { TmpDirs } from "./helpers.js";

const CHILD = fileURLToPath(new URL("./crash-child.ts", import.meta.url));
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const ROUNDS = 5;
const KILL_DELAY_MS_MAX = 150;
const CHILD_READY_TIMEOUT_MS = 10_000;

const dirs = new TmpDirs();

afterAll(async () => {
  await dirs.cleanup();
});

interface CrashRound {
  readyLastIndex: number;
  ackedLastIndex: number;
  killDelayMs: number;
}

/** Starts the child, waits for "ready", lets it run killDelayMs, then SIGKILLs it. */
function runAndKill(dataDir: string, killDelayMs: number): Promise<CrashRound> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, dataDir], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise<CrashRound>((resolve, reject) => {
    const round: CrashRound = { readyLastIndex: -1, ackedLastIndex: -1, killDelayMs };
    let stdout = "";
    let stderr = "";
    let killed = false;
    const readyTimer = setTimeout(() => kill(child), CHILD_READY_TIMEOUT_MS);
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const lines = stdout.split("\n");
      stdout = lines.pop() ?? "";
      for (const line of lines) {
        const [word, value] = line.split(" ");
        if (word === "ready") {
          round.readyLastIndex = Number(value);
          clearTimeout(readyTimer);
          setTimeout(() => {
            killed = true;
            kill(child);
          }, killDelayMs);
        } else if (word === "ack") {
          round.ackedLastIndex = Number(value);
        }
      }
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(readyTimer);
      if (killed && signal === "SIGKILL") {
        resolve(round);
      } else {
        reject(new Error(`crash child ended on its own (code ${code}, ${signal}): ${stderr}`));
      }
    });
  });
}

function kill(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill("SIGKILL");
  }
}

/** Reopens after a crash and checks durability of acks and atomicity of state batches. */
async function verify(dataDir: string, round: CrashRound): Promise<number> {
  const store = await DiskStore.open(dataDir);
  try {
    const loaded = await store.load(); // throws CorruptRecordError on any bad CRC
    const lastIndex = loaded.firstIndex + loaded.entries.length - 1;
    const context = `round ${JSON.stringify(round)}, reloaded last index ${lastIndex}`;
    expect(lastIndex, context).toBeGreaterThanOrEqual(round.ackedLastIndex);
    expect(loaded.hardState.commit, context).toBeGreaterThanOrEqual(round.ackedLastIndex);
    for (const entry of loaded.entries) {
      expect(Buffer.from(entry.data).equals(crashPayload(entry.index)), context).toBe(true);
    }
    const rows: number[] = [];
    for await (const [key, value] of store.iterateTable("rows")) {
      rows.push(rowIndex(key));
      expect(Buffer.from(value).equals(crashPayload(rowIndex(key))), context).toBe(true);
    }
    const applied = loaded.appliedIndex;
    expect(rows, context).toEqual(Array.from({ length: applied }, (_, i) => i + 1));
    const counter = await store.getState("counter", new Uint8Array(8));
    expect(counter === undefined ? 0 : rowIndex(counter), context).toBe(applied);
    return lastIndex;
  } finally {
    await store.close();
  }
}

describe("kill -9 during synced appends", () => {
  it(`keeps every acknowledged entry across ${ROUNDS} crashes`, async () => {
    const dataDir = await dirs.make("crash");
    let acked = 0;
    for (let roundIndex = 0; roundIndex < ROUNDS; roundIndex++) {
      const killDelayMs = Math.floor(Math.random() * KILL_DELAY_MS_MAX);
      const round = await runAndKill(dataDir, killDelayMs);
      acked = Math.max(acked, round.ackedLastIndex);
      const lastIndex = await verify(dataDir, round);
      expect(lastIndex).toBeGreaterThanOrEqual(acked);
    }
    // The run must have done real work, or the checks above prove nothing.
    expect(acked).toBeGreaterThan(0);
  });
});
