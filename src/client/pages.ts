// Paged listings as async iterables: `for await (const page of list)` walks
// the pages (each fetched only when asked for), `items()` flattens them, and
// `all()` collects up to a bound. The page token carries the first page's
// read revision, so every page shows the same snapshot.
import type { Page } from "./types.js";

/** Pages one listing may walk before it stops: a guard against a server that loops. */
export const PAGES_MAX = 100_000;

export type FetchPage<T> = (pageToken: string) => Promise<Page<T>>;

export class PageIterator<T> implements AsyncIterable<Page<T>> {
  constructor(private readonly fetchPage: FetchPage<T>) {}

  async *[Symbol.asyncIterator](): AsyncIterator<Page<T>> {
    let token = "";
    for (let pages = 0; pages < PAGES_MAX; pages++) {
      const page = await this.fetchPage(token);
      yield page;
      if (page.nextPageToken === "") return;
      if (page.nextPageToken === token) {
        throw new Error(`the server returned page token ${JSON.stringify(token)} twice`);
      }
      token = page.nextPageToken;
    }
    throw new Error(`listing stopped after ${PAGES_MAX} pages`);
  }

  async *items(): AsyncIterable<T> {
    for await (const page of this) yield* page.items;
  }

  /** Every item, failing rather than holding more than `itemsMax` in memory. */
  async all(itemsMax = 100_000): Promise<T[]> {
    const out: T[] = [];
    for await (const page of this) {
      if (out.length + page.items.length > itemsMax) {
        throw new RangeError(`listing has more than ${itemsMax} items; iterate pages instead`);
      }
      out.push(...page.items);
    }
    return out;
  }
}
