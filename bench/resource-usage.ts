// What a member occupies, read from outside it: resident memory from
// /proc/<pid>/status and the bytes under its data directory. Used by the
// footprint benchmark; reads only, never signals.
import type { Dirent } from "node:fs";
import { lstat, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

export interface DirectorySize {
  /** Sum of the regular files' sizes (`du --apparent-size -b`). */
  readonly bytes: number;
  /** Blocks the files hold on disk (`du -B1`): below `bytes` for sparse files, above for preallocation. */
  readonly allocatedBytes: number;
  readonly files: number;
}

/**
 * Recursive size of the regular files under `dir`; symlinks are not followed.
 * A file removed while walking (compaction, WAL purge) simply is not counted.
 */
export async function directorySize(dir: string): Promise<DirectorySize> {
  let bytes = 0;
  let allocatedBytes = 0;
  let files = 0;
  const pending = [dir];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    let entries: Dirent[];
    try {
      entries = await readdir(next, { withFileTypes: true });
    } catch (error) {
      // A subdirectory the server removed since it was listed is gone, not an error; a missing `dir` is.
      if ((error as NodeJS.ErrnoException).code === "ENOENT" && next !== dir) continue;
      throw error;
    }
    for (const entry of entries) {
      const path = join(next, entry.name);
      if (entry.isDirectory()) {
        pending.push(path);
      } else if (entry.isFile()) {
        const stat = await lstat(path).catch((error: NodeJS.ErrnoException) => {
          if (error.code === "ENOENT") return null;
          throw error;
        });
        if (stat === null) continue;
        bytes += stat.size;
        allocatedBytes += stat.blocks * 512;
        files++;
      }
    }
  }
  return { bytes, allocatedBytes, files };
}

/** VmRSS from the text of /proc/<pid>/status, in bytes; null when the line is missing. */
export function parseVmRssBytes(statusText: string): number | null {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(statusText);
  return match?.[1] === undefined ? null : Number(match[1]) * 1024;
}

/** Resident set size of a running process, or null when it has exited (or /proc is absent). */
export async function rssBytes(pid: number): Promise<number | null> {
  try {
    return parseVmRssBytes(await readFile(`/proc/${pid}/status`, "utf8"));
  } catch {
    return null;
  }
}
