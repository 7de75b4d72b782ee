// Data-dir size, VmRSS and CPU-tick parsing for the bench, on a temp dir and
// on this very process.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  cpuTicks,
  directorySize,
  parseCpuTicks,
  parseVmRssBytes,
  rssBytes,
} from "../../bench/resource-usage.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("directorySize", () => {
  it("sums regular files in nested directories and does not follow symlinks", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cairn-dir-size-"));
    dirs.push(dir);
    mkdirSync(join(dir, "wal", "deeper"), { recursive: true });
    writeFileSync(join(dir, "a"), Buffer.alloc(1000));
    writeFileSync(join(dir, "wal", "b"), Buffer.alloc(2345));
    writeFileSync(join(dir, "wal", "deeper", "c"), Buffer.alloc(1));
    writeFileSync(join(dir, "empty"), "");
    const outside = mkdtempSync(join(tmpdir(), "cairn-dir-size-outside-"));
    dirs.push(outside);
    writeFileSync(join(outside, "big"), Buffer.alloc(100_000));
    symlinkSync(outside, join(dir, "link-to-dir"));
    symlinkSync(join(outside, "big"), join(dir, "link-to-file"));

    const size = await directorySize(dir);
    expect(size.bytes).toBe(1000 + 2345 + 1);
    expect(size.files).toBe(4);
    expect(size.allocatedBytes).toBeGreaterThan(0);
    expect(size.allocatedBytes % 512).toBe(0);
  });

  it("is zero for an empty directory and throws for a missing one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cairn-dir-size-"));
    dirs.push(dir);
    expect(await directorySize(dir)).toEqual({ bytes: 0, allocatedBytes: 0, files: 0 });
    // A wrong data dir must not pass for an empty one.
    await expect(directorySize(join(dir, "missing"))).rejects.toThrow(/ENOENT/);
  });
});

describe("rss", () => {
  it("reads VmRSS in kB as bytes", () => {
    const status = "Name:\tnode\nVmPeak:\t  999 kB\nVmRSS:\t   51200 kB\nVmData:\t 1 kB\n";
    expect(parseVmRssBytes(status)).toBe(51200 * 1024);
  });

  it("is null without a VmRSS line (a zombie has none)", () => {
    expect(parseVmRssBytes("Name:\tetcd\nState:\tZ (zombie)\n")).toBeNull();
  });

  it("reads this process's RSS, close to what Node reports", async () => {
    const rss = await rssBytes(process.pid);
    expect(rss).not.toBeNull();
    expect(rss as number).toBeGreaterThan(0.5 * process.memoryUsage.rss());
    expect(rss as number).toBeLessThan(2 * process.memoryUsage.rss());
  });
});

describe("cpu ticks", () => {
  it("adds utime and stime (fields 14 and 15)", () => {
    const stat = "4242 (etcd) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 12 0 99 0 0";
    expect(parseCpuTicks(stat)).toBe(1234 + 567);
  });

  it("counts fields after the last ') ', whatever the command name holds", () => {
    const stat = "7 (node (x) y) R 1 7 7 0 -1 0 0 0 0 0 30 12 0 0 20 0 1 0 5 0 0";
    expect(parseCpuTicks(stat)).toBe(42);
  });

  it("is null for text that is not a stat line", () => {
    expect(parseCpuTicks("")).toBeNull();
    expect(parseCpuTicks("1 (short) S 1")).toBeNull();
  });

  it("reads this process's ticks, which grow as it works", async () => {
    const before = await cpuTicks(process.pid);
    const until = performance.now() + 60;
    while (performance.now() < until) Math.sqrt(Math.random());
    const after = await cpuTicks(process.pid);
    expect(before).not.toBeNull();
    expect(after as number).toBeGreaterThan(before as number);
    expect(await cpuTicks(2 ** 22 + 1)).toBeNull(); // above pid_max: no such process
  });
});
