// Password hashing for Register/Update/Login, done by the member that got the
// request before anything is proposed: scrypt with SCRYPT_PARAMS and a fresh
// random salt, off the event loop (libuv's thread pool). Only {salt, hash}
// ever reaches the log. Hashing is bounded: the thread pool also serves
// LevelDB, so a burst of logins must not starve the Raft log's fsyncs.
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { type PasswordHash, SCRYPT_PARAMS } from "../../state/index.js";
import { assert } from "../../util/assert.js";
import { CairnError } from "../errors.js";

/** scrypt runs at once; the default thread pool has 4 threads and LevelDB needs some. */
export const HASHES_RUNNING_MAX = 2;
/** Hashes waiting for a slot; past it the call fails with "too many requests". */
export const HASHES_QUEUED_MAX = 256;
/** scrypt needs 128 × N × r bytes (16 MiB here); Node's default cap is 32 MiB. */
const SCRYPT_MAXMEM_BYTES = 64 * 1024 * 1024;

/** Hashed when the user does not exist, so a wrong username costs as long as a wrong password. */
const DUMMY_SALT = Buffer.alloc(SCRYPT_PARAMS.saltBytes, 0x5a);

function scryptAsync(password: string, salt: Uint8Array, keyLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      password,
      salt,
      keyLength,
      {
        N: SCRYPT_PARAMS.cost,
        r: SCRYPT_PARAMS.blockSize,
        p: SCRYPT_PARAMS.parallelization,
        maxmem: SCRYPT_MAXMEM_BYTES,
      },
      (error, key) => (error === null ? resolve(key) : reject(error)),
    );
  });
}

export class PasswordHasher {
  private running = 0;
  private readonly queued: Array<() => void> = [];

  constructor(
    private readonly runningMax = HASHES_RUNNING_MAX,
    private readonly queuedMax = HASHES_QUEUED_MAX,
  ) {
    assert(runningMax >= 1 && queuedMax >= 0, "hasher bounds must be positive");
  }

  /** A new salt and the scrypt hash of `password` under it. */
  async hash(password: string): Promise<PasswordHash> {
    const salt = randomBytes(SCRYPT_PARAMS.saltBytes);
    const hash = await this.run(() => scryptAsync(password, salt, SCRYPT_PARAMS.keyLength));
    assert(hash.byteLength === SCRYPT_PARAMS.keyLength, "scrypt returned a short key");
    return { salt: new Uint8Array(salt), hash: new Uint8Array(hash) };
  }

  /** Constant-time comparison of scrypt(password, salt) with the stored hash. */
  async verify(password: string, stored: PasswordHash): Promise<boolean> {
    const computed = await this.run(() =>
      scryptAsync(password, stored.salt, stored.hash.byteLength),
    );
    return computed.byteLength === stored.hash.byteLength && timingSafeEqual(computed, stored.hash);
  }

  /** Burns the same time as a real verify, for a username that does not exist. */
  async verifyNobody(password: string): Promise<false> {
    await this.run(() => scryptAsync(password, DUMMY_SALT, SCRYPT_PARAMS.keyLength));
    return false;
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.running < this.runningMax) {
      this.running++;
      return Promise.resolve();
    }
    if (this.queued.length >= this.queuedMax) {
      return Promise.reject(new CairnError("TOO_MANY_REQUESTS"));
    }
    // The slot passes straight from release() to the next in line: running stays counted.
    return new Promise((resolve) => this.queued.push(resolve));
  }

  private release(): void {
    const next = this.queued.shift();
    if (next !== undefined) {
      next();
      return;
    }
    this.running--;
    assert(this.running >= 0, "hasher slots went negative");
  }
}
