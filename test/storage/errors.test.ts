// Mapping LevelDB's errors to cairn's: a full disk, a lock held elsewhere and
// LevelDB-level corruption each become a typed error with a stable code.

import { describe, expect, it } from "vitest";
import { fromLevelError } from "../../src/storage/errors.js";
import { CorruptRecordError, StorageIoError, StorageLockedError } from "../../src/storage/index.js";

function levelError(code: string, message: string, cause?: Error): Error {
  const error = new Error(message, cause === undefined ? undefined : { cause });
  return Object.assign(error, { code });
}

describe("fromLevelError", () => {
  it("maps a full disk during a write to a StorageIoError that says so", () => {
    const cause = levelError(
      "LEVEL_IO_ERROR",
      "IO error: /data/n1/000012.log: No space left on device",
    );
    const error = fromLevelError(cause, "/data/n1", "persistRaft");
    expect(error).toBeInstanceOf(StorageIoError);
    expect(error).toMatchObject({
      code: "CAIRN_STORAGE_IO",
      diskFull: true,
      operation: "persistRaft",
    });
    expect(error.message).toMatch(/No space left on device/);
    expect(error.message).toMatch(/disk holding \/data\/n1 is full/);
    expect(error.cause).toBe(cause);
  });

  it("finds the real reason inside LEVEL_DATABASE_NOT_OPEN", () => {
    const locked = levelError(
      "LEVEL_DATABASE_NOT_OPEN",
      "Database failed to open",
      levelError("LEVEL_LOCKED", "IO error: lock /data/n1/LOCK: already held by process"),
    );
    expect(fromLevelError(locked, "/data/n1", "open")).toBeInstanceOf(StorageLockedError);
    const io = levelError(
      "LEVEL_DATABASE_NOT_OPEN",
      "Database failed to open",
      levelError("LEVEL_IO_ERROR", "IO error: /data/n1/LOCK: Permission denied"),
    );
    const mapped = fromLevelError(io, "/data/n1", "open");
    expect(mapped).toMatchObject({ code: "CAIRN_STORAGE_IO", diskFull: false });
    expect(mapped.message).toMatch(/Database failed to open: IO error: .*Permission denied/);
  });

  it("maps LevelDB's own corruption reports to CorruptRecordError", () => {
    const error = fromLevelError(
      levelError("LEVEL_CORRUPTION", "Corruption: block checksum mismatch"),
      "/data/n1",
      "load log",
    );
    expect(error).toBeInstanceOf(CorruptRecordError);
    expect(error.code).toBe("CAIRN_CORRUPT_RECORD");
    expect(error.message).toMatch(/block checksum mismatch/);
  });

  it("keeps an uncoded error as the cause of a StorageIoError", () => {
    const cause = new Error("Invalid argument: something odd");
    const error = fromLevelError(cause, "/d", "open");
    expect(error).toBeInstanceOf(StorageIoError);
    expect(error.cause).toBe(cause);
  });
});
