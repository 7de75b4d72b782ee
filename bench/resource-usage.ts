// What a member occupies, read from outside it: CPU time from /proc/<pid>/stat,
// resident memory from /proc/<pid>/status and the bytes under its data
// directory. Used by the workload runners and the footprint benchmark; reads
// only, never signals.
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

/** The kernel's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks (100 on Linux everywhere). */
export const CLOCK_TICKS_PER_SECOND = 100;

/**
 * utime + stime, in clock ticks, from the text of /proc/<pid>/stat; null when
 * malformed. Fields are counted after the last ") " since the command name
 * in parentheses may itself hold spaces or parentheses.
 */
export function parseCpuTicks(statText: string): number | null {
  const end = statText.lastIndexOf(") ");
  if (end < 0) return null;
  const fields = statText.slice(end + 2).split(" ");
  // utime and stime are fields 14 and 15 of stat(5); the slice starts at field 3.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks : null;
}

/** CPU time a running process has used so far, in clock ticks, or null when it has exited. */
export async function cpuTicks(pid: number): Promise<number | null> {
  try {
    return parseCpuTicks(await readFile(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return null;
  }
}
