// The storage layer's closed set of operating errors. Each has a stable `code`
// (messages may change, codes will not) and names the data dir, so an operator
// reading a crash log knows which disk and which record to look at.

export type StorageErrorCode =
  | "CAIRN_CORRUPT_RECORD"
  | "CAIRN_STORAGE_IO"
  | "CAIRN_STORAGE_LOCKED"
  | "CAIRN_STORAGE_FORMAT";

/** Base of every error the storage layer throws on purpose; bugs throw AssertionError instead. */
export class StorageError extends Error {
  override readonly name: string = "StorageError";
  readonly code: StorageErrorCode;
  readonly dataDir: string;

  constructor(code: StorageErrorCode, dataDir: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.dataDir = dataDir;
  }
}

const CORRUPTION_ADVICE =
  "cairn refuses to start on corrupt data rather than serve wrong answers. " +
  "If the rest of the cluster is healthy, rebuild this member so it resyncs from the leader: " +
  "move the data dir aside (keep it for diagnosis), then start this member again with an " +
  "empty data dir and --initial-cluster-state existing (README: Recovering a member with " +
  "corrupt data). Otherwise restore the cluster from a snapshot file (cairn snapshot restore).";

/**
 * Thrown when a record fails its CRC, length or structure check, when the log
 * has a hole, or when LevelDB itself reports corruption. `record` names what
 * was bad, e.g. "log index 1234" or "meta hard-state".
 */
export class CorruptRecordError extends StorageError {
  override readonly name = "CorruptRecordError";
  readonly record: string;
  readonly reason: string;

  constructor(dataDir: string, record: string, reason: string, options?: ErrorOptions) {
    super(
      "CAIRN_CORRUPT_RECORD",
      dataDir,
      `corrupt record ${record} in data dir ${dataDir}: ${reason}. ${CORRUPTION_ADVICE}`,
      options,
    );
    this.record = record;
    this.reason = reason;
  }
}

/**
 * Thrown when the disk or file system fails a read or write (full disk,
 * permissions, I/O error). After a failed write the store refuses writes until
 * it is reopened (DiskStore.reopen); a node rides out a full disk that way and
 * stops on any other I/O error.
 */
export class StorageIoError extends StorageError {
  override readonly name = "StorageIoError";
  readonly operation: string;
  readonly diskFull: boolean;

  constructor(dataDir: string, operation: string, detail: string, options?: ErrorOptions) {
    const diskFull = /no space left|ENOSPC|quota exceeded|EDQUOT/i.test(detail);
    const advice = diskFull
      ? `the disk holding ${dataDir} is full: free space on that volume; the member retries and resumes by itself`
      : `check the disk and file system holding ${dataDir}, then restart the node`;
    super(
      "CAIRN_STORAGE_IO",
      dataDir,
      `storage ${operation} failed: ${detail}; ${advice}`,
      options,
    );
    this.operation = operation;
    this.diskFull = diskFull;
  }
}

/** Thrown by open when another process (or another DiskStore here) holds the data dir. */
export class StorageLockedError extends StorageError {
  override readonly name = "StorageLockedError";

  constructor(dataDir: string, options?: ErrorOptions) {
    super(
      "CAIRN_STORAGE_LOCKED",
      dataDir,
      `data dir ${dataDir} is in use by another cairn process; stop it or choose another --data-dir`,
      options,
    );
  }
}

/** Thrown by open when the data dir was written by a newer (or unknown) storage format. */
export class UnsupportedFormatError extends StorageError {
  override readonly name = "UnsupportedFormatError";
  readonly foundVersion: number;
  readonly supportedVersion: number;

  constructor(dataDir: string, foundVersion: number, supportedVersion: number) {
    super(
      "CAIRN_STORAGE_FORMAT",
      dataDir,
      `data dir ${dataDir} has storage format ${foundVersion}, this cairn reads format ` +
        `${supportedVersion}; run the cairn version that wrote it`,
    );
    this.foundVersion = foundVersion;
    this.supportedVersion = supportedVersion;
  }
}

/**
 * Maps an error thrown by classic-level to a StorageError, keeping it as
 * `cause`. Open failures arrive as LEVEL_DATABASE_NOT_OPEN wrapping the real
 * reason, so the cause chain is searched for the most specific LEVEL_* code.
 */
export function fromLevelError(error: unknown, dataDir: string, operation: string): StorageError {
  if (error instanceof StorageError) {
    return error;
  }
  const { code, message } = innermostLevelError(error);
  switch (code) {
    case "LEVEL_LOCKED":
      return new StorageLockedError(dataDir, { cause: error });
    case "LEVEL_CORRUPTION":
      return new CorruptRecordError(dataDir, `in LevelDB files (${operation})`, message, {
        cause: error,
      });
    default:
      return new StorageIoError(dataDir, operation, message, { cause: error });
  }
}

const LEVEL_CAUSE_DEPTH_MAX = 8;

function innermostLevelError(error: unknown): { code: string | undefined; message: string } {
  let code: string | undefined;
  const messages: string[] = [];
  let current: unknown = error;
  // Bounded walk: a cyclic cause chain must not hang error handling.
  for (let depth = 0; depth < LEVEL_CAUSE_DEPTH_MAX && current instanceof Error; depth++) {
    const currentCode = (current as { code?: unknown }).code;
    if (typeof currentCode === "string") {
      code = currentCode;
    }
    messages.push(current.message);
    current = current.cause;
  }
  return { code, message: messages.length > 0 ? messages.join(": ") : String(error) };
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
