// How much disk a data dir takes: the sum of its files' sizes, which is what a
// quota cares about (LevelDB's approximateSize skips the write-ahead log).

import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { errorMessage, StorageIoError } from "./errors.js";

/** LevelDB keeps a flat directory of a few dozen files; no recursion needed. */
export async function dirSizeBytes(dataDir: string): Promise<number> {
  let files: string[];
  try {
    files = await readdir(dataDir);
  } catch (error) {
    throw new StorageIoError(dataDir, "size", errorMessage(error), { cause: error });
  }
  let totalBytes = 0;
  for (const file of files) {
    totalBytes += await fileBytes(dataDir, join(dataDir, file));
  }
  return totalBytes;
}

/** A file LevelDB removes between readdir and stat simply no longer takes space. */
async function fileBytes(dataDir: string, path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      return 0;
    }
    throw new StorageIoError(dataDir, `size of ${path}`, errorMessage(error), { cause: error });
  }
}
