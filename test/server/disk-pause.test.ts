// The pieces of riding out a full disk, alone: the retry backoff, the pause
// around one write (reopen between attempts, resume once it goes through,
// other errors and a stop end it), and the free-space guard's verdict.
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import {
  DISK_RETRY_DELAY_MS_MAX,
  DISK_RETRY_DELAY_MS_MIN,
  DiskPause,
  LoopStoppedError,
  retryDelayMs,
} from "../../src/server/disk-pause.js";
import { spaceProblem } from "../../src/server/disk-space-guard.js";
import { StorageIoError } from "../../src/storage/index.js";

const full = () =>
  new StorageIoError("/d", "persistRaft", "IO error: /d/1.log: No space left on device");
const eio = () => new StorageIoError("/d", "persistRaft", "IO error: /d/1.log: Input/output error");

function harness() {
  const events: string[] = [];
  let stopped = false;
  let reopenError: Error | null = null;
  const store = {
    dataDir: "/d",
    reopen: async () => {
      events.push("reopen");
      if (reopenError !== null) throw reopenError;
    },
  };
  const pause = new DiskPause(store, pino({ level: "silent" }), {
    isStopped: () => stopped,
    onPause: (problem) => events.push(`pause: ${problem}`),
    onResume: () => events.push("resume"),
    sleep: async (ms) => {
      events.push(`sleep ${ms}`);
    },
  });
  return {
    pause,
    events,
    stop: () => {
      stopped = true;
    },
    failReopen: (error: Error | null) => {
      reopenError = error;
    },
  };
}

describe("disk pause", () => {
  it("backs off from 50 ms, doubling, up to 2 s", () => {
    expect(DISK_RETRY_DELAY_MS_MIN).toBe(50);
    expect([0, 1, 2, 3].map(retryDelayMs)).toEqual([50, 100, 200, 400]);
    expect(retryDelayMs(6)).toBe(DISK_RETRY_DELAY_MS_MAX);
    expect(retryDelayMs(10_000)).toBe(DISK_RETRY_DELAY_MS_MAX);
  });

  it("a write that succeeds at once neither pauses nor reopens", async () => {
    const { pause, events } = harness();
    await pause.write("persistRaft", async () => undefined);
    expect(events).toEqual([]);
    expect(pause.problem).toBeNull();
  });

  it("retries a write failing for space, reopening in between, then resumes once", async () => {
    const { pause, events, failReopen } = harness();
    let failures = 3;
    failReopen(full()); // the first reopen finds the disk still full
    const seen: Array<string | null> = [];
    await pause.write("persistRaft", async () => {
      seen.push(pause.problem);
      if (events.filter((e) => e === "reopen").length === 1) failReopen(null);
      if (failures-- > 0) throw full();
    });
    expect(events).toEqual([
      "pause: no space left on device (data dir /d)",
      "sleep 50",
      "reopen",
      "sleep 100",
      "reopen",
      "sleep 200",
      "reopen",
      "resume",
    ]);
    expect(seen).toEqual([null, expect.any(String), expect.any(String), expect.any(String)]);
    expect(pause.problem).toBeNull();
  });

  it("any other error is thrown at once: the node stops as before", async () => {
    const { pause, events } = harness();
    await expect(pause.write("applyState", () => Promise.reject(eio()))).rejects.toMatchObject({
      diskFull: false,
    });
    expect(events).toEqual([]);
  });

  it("a reopen failing for another reason ends the pause with that error", async () => {
    const { pause, failReopen } = harness();
    failReopen(eio());
    await expect(pause.write("persistRaft", () => Promise.reject(full()))).rejects.toMatchObject({
      diskFull: false,
    });
  });

  it("stopping the node ends a paused write without a fatal error", async () => {
    const { pause, stop } = harness();
    let attempts = 0;
    const write = pause.write("persistRaft", async () => {
      attempts++;
      if (attempts === 2) stop();
      throw full();
    });
    await expect(write).rejects.toBeInstanceOf(LoopStoppedError);
  });
});

describe("free-space guard", () => {
  it("refuses below the reserve with a message naming the data dir and the flag", () => {
    expect(spaceProblem(100, 64, "/d")).toBeNull();
    expect(spaceProblem(64, 64, "/d")).toBeNull();
    expect(spaceProblem(10, 64, "/d")).toBe(
      "no space left on device (data dir /d): 10 bytes free, below the --disk-reserve-bytes reserve of 64; free space on that volume",
    );
  });

  it("is off with a reserve of 0", () => {
    expect(spaceProblem(0, 0, "/d")).toBeNull();
  });
});
