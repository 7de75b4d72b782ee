// cairn.v1.OpLog: the append-only record of every platform mutation, listed
// in pages or followed live. A watch resumes after the last sequence it
// delivered, so failover neither repeats nor skips records.
import { fromOpLogRecord, toOpLogFilter, toSortOrder } from "./convert.js";
import type { CallOptions, Invoker } from "./invoker.js";
import { PageIterator } from "./pages.js";
import { OPLOG } from "./platform-methods.js";
import type { OpLogFilter, OpLogRecord, Page, SortOrder } from "./types.js";
import { type Watch, type WatchOptions, WatchStream } from "./watch-stream.js";

export interface ListOpLogOptions extends CallOptions {
  readonly filter?: OpLogFilter;
  /** Default ascending (oldest first). */
  readonly order?: SortOrder;
  /** 1..500; unset = the server's default (100). */
  readonly pageSize?: number;
}

export interface OpLogPage extends Page<OpLogRecord> {
  /** Oldest and newest retained sequences (0 when empty). */
  readonly firstSequence: number;
  readonly lastSequence: number;
}

export interface WatchOpLogOptions extends WatchOptions {
  readonly filter?: OpLogFilter;
  /** First sequence to deliver; unset = only new records. */
  readonly sinceSequence?: number;
}

export class OpLogApi {
  constructor(private readonly invoker: Invoker) {}

  list(options: ListOpLogOptions = {}): PageIterator<OpLogRecord> {
    return new PageIterator((pageToken) => this.page(pageToken, options));
  }

  /** One page, with the retained sequence range. */
  async page(pageToken: string, options: ListOpLogOptions = {}): Promise<OpLogPage> {
    const response = await this.invoker.unary(
      OPLOG.List,
      {
        filter: toOpLogFilter(options.filter),
        order: options.order === undefined ? 0 : toSortOrder(options.order),
        pageSize: options.pageSize ?? 0,
        pageToken,
      },
      { ...options, safety: "read" },
    );
    return {
      items: response.records.map(fromOpLogRecord),
      nextPageToken: response.nextPageToken,
      revision: response.header?.revision ?? 0,
      firstSequence: response.firstSequence,
      lastSequence: response.lastSequence,
    };
  }

  /**
   * Admins only: keep at most maxRecords records (100..10 000 000) and none
   * older than maxAgeMs (1 minute..10 years). Setting the same retention twice
   * changes nothing more, so the call is retried like a read.
   */
  async setRetention(
    retention: { readonly maxRecords: number; readonly maxAgeMs: number },
    options: CallOptions = {},
  ): Promise<{ maxRecords: number; maxAgeMs: number; pruned: number }> {
    const response = await this.invoker.unary(OPLOG.SetRetention, retention, {
      ...options,
      safety: "idempotent",
    });
    return {
      maxRecords: response.maxRecords,
      maxAgeMs: response.maxAgeMs,
      pruned: response.pruned,
    };
  }

  watch(options: WatchOpLogOptions = {}): Watch<OpLogRecord> {
    let since = options.sinceSequence ?? 0;
    return new WatchStream(
      this.invoker,
      {
        method: OPLOG.Watch,
        request: () => ({ filter: toOpLogFilter(options.filter), sinceSequence: since }),
        items: (response) => {
          const records = response.records.map(fromOpLogRecord);
          const last = records[records.length - 1];
          if (last !== undefined) since = last.sequence + 1;
          return records;
        },
      },
      options,
    );
  }
}
