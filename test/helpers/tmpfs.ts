// A small tmpfs for disk-full tests: mounted where the test runs as root and
// mount(8) works (CI containers often forbid it; the caller then skips with
// the reason printed), filled to a chosen number of free bytes with a filler
// file, and unmounted afterwards.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const FILL_ATTEMPTS_MAX = 10;

export interface Tmpfs {
  readonly dir: string;
  freeBytes(): number;
  /** Fills the volume until at most `leaveBytes` are free. */
  fill(leaveBytes?: number): void;
  /** Deletes the filler: the space is back. */
  drain(): void;
  unmount(): Promise<void>;
}

/** Mounts a tmpfs of `sizeBytes`; returns why not when it cannot. */
export async function mountTmpfs(label: string, sizeBytes: number): Promise<Tmpfs | string> {
  if (process.platform !== "linux") return `tmpfs mounts need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return "mounting a tmpfs needs root";
  const dir = mkdtempSync(join(tmpdir(), `cairn-tmpfs-${label}-`));
  try {
    await run("mount", ["-t", "tmpfs", "-o", `size=${sizeBytes}`, "tmpfs", dir]);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    return `mount -t tmpfs failed: ${(error as Error).message.trim()}`;
  }
  const filler = join(dir, "filler");
  let fillers = 0;
  const freeBytes = (): number => {
    const stats = statfsSync(dir);
    return stats.bavail * stats.bsize;
  };
  return {
    dir,
    freeBytes,
    fill(leaveBytes = 0) {
      // A member writing to the volume meanwhile (its applied rows go to disk
      // up to 100 ms after the puts) can take some of the space just measured:
      // then the filler does not fit, and is measured again.
      for (let attempt = 0; attempt < FILL_ATTEMPTS_MAX; attempt++) {
        const bytes = freeBytes() - leaveBytes;
        if (bytes <= 0) return;
        const path = `${filler}-${fillers}`;
        try {
          writeFileSync(path, Buffer.alloc(bytes));
          fillers++;
          return;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
          rmSync(path, { force: true });
        }
      }
      throw new Error(`could not fill ${dir}: other writers kept taking the space`);
    },
    drain() {
      for (let i = 0; i < fillers; i++) rmSync(`${filler}-${i}`, { force: true });
      fillers = 0;
    },
    async unmount() {
      await run("umount", [dir]).catch(() => run("umount", ["-l", dir]));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
