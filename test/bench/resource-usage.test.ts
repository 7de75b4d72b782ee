// Data-dir size and VmRSS parsing for the footprint bench, on a temp dir and
// on this very process.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { directorySize, parseVmRssBytes, rssBytes } from "../../bench/resource-usage.js";

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
