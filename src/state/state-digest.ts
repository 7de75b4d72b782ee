// A digest of every replicated table that HashKV does not cover (leases,
// alarms, member attributes, users, sessions, resources, op log, platform
// locks, membership), taken at one point of the log (a digest-checkpoint
// command) so members compare like with like: those tables keep no history,
// so unlike the KV they cannot be hashed "as of revision R" after the fact.
//
// The digest is computed from the rows the in-memory state would persist,
// re-encoded, so it also catches a member whose memory no longer matches what
// it applied or loaded. Per table: the row count and the sum (mod 2^32) of
// each row's CRC-32 over (table, key, value). A sum needs no sorting, and
// because each row's CRC covers its key, a change to any one row changes it.
import { crc32 } from "node:zlib";
import { assert } from "../util/assert.js";
import type { RowVisitor } from "./table-write.js";

export interface TableDigest {
  readonly table: string;
  readonly rows: number;
  /** Sum of the rows' CRC-32s, mod 2^32. */
  readonly sum: number;
}

export interface StateDigest {
  /** CRC-32 over every table's (name, rows, sum): equal digests, equal tables (with high probability). */
  readonly digest: number;
  /** One per digested table, in the order the digester was given them. */
  readonly tables: readonly TableDigest[];
}

const TWO_TO_32 = 2 ** 32;
const SEPARATOR = new Uint8Array([0]);

/** Accumulates rows of a fixed set of tables; rows of other tables are a bug. */
export class StateDigester {
  private readonly rows = new Map<string, { rows: number; sum: number }>();

  constructor(tables: readonly string[]) {
    for (const table of tables) this.rows.set(table, { rows: 0, sum: 0 });
  }

  readonly visit: RowVisitor = (table, key, value) => {
    const entry = this.rows.get(table);
    assert(entry !== undefined, `table ${table} is not part of the state digest`);
    const crc = crc32(value, crc32(key, crc32(SEPARATOR, crc32(table))));
    entry.rows++;
    entry.sum = (entry.sum + crc) % TWO_TO_32;
  };

  result(): StateDigest {
    const tables: TableDigest[] = [];
    let digest = 0;
    for (const [table, { rows, sum }] of this.rows) {
      tables.push({ table, rows, sum });
      const counts = Buffer.alloc(8);
      counts.writeUInt32BE(rows);
      counts.writeUInt32BE(sum, 4);
      digest = crc32(counts, crc32(SEPARATOR, crc32(table, digest)));
    }
    return { digest, tables };
  }
}

/** Names of the tables whose digests differ (or that only one side has). */
export function differingTables(a: StateDigest, b: StateDigest): string[] {
  const other = new Map(b.tables.map((t) => [t.table, t]));
  const differing = new Set<string>();
  for (const table of a.tables) {
    const match = other.get(table.table);
    if (match === undefined || match.rows !== table.rows || match.sum !== table.sum) {
      differing.add(table.table);
    }
    other.delete(table.table);
  }
  for (const table of other.keys()) differing.add(table);
  return [...differing];
}

/** What a member computed when it applied one digest checkpoint. */
export interface DigestCheckpoint {
  readonly checkpoint: number;
  /** The store revision at the checkpoint. */
  readonly revision: number;
  readonly state: StateDigest;
}

/**
 * The last few checkpoints this member applied, newest last. In memory only:
 * a restarted member does not re-apply entries below its applied index, so
 * it simply has no answer for older checkpoints (the checker skips it).
 */
export class DigestCheckpoints {
  private readonly kept: DigestCheckpoint[] = [];

  constructor(private readonly keptMax: number) {
    assert(keptMax >= 1, "keep at least one checkpoint");
  }

  record(checkpoint: DigestCheckpoint): void {
    this.kept.push(checkpoint);
    if (this.kept.length > this.keptMax) this.kept.shift();
  }

  get(checkpoint: number): DigestCheckpoint | undefined {
    return this.kept.find((kept) => kept.checkpoint === checkpoint);
  }
}
