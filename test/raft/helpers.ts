// Small builders shared by the Raft unit and paper tests.

import type { Entry } from "../../src/raft/index.js";

export function entry(index: number, term: number, payload = ""): Entry {
  return { index, term, kind: "normal", data: new TextEncoder().encode(payload) };
}

/** Entries with the given terms at indexes from..from+terms.length-1. */
export function entriesWithTerms(terms: readonly number[], from = 1): Entry[] {
  return terms.map((term, k) => entry(from + k, term, `e${from + k}t${term}`));
}

export function termsOf(entries: readonly Entry[]): number[] {
  return entries.map((e) => e.term);
}

export function text(data: Uint8Array): string {
  return new TextDecoder().decode(data);
}
