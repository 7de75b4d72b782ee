// What every checker and runner check returns: a validity (true, false or
// "unknown", which never counts as a pass) plus details for results.json.

export type Validity = boolean | "unknown";

/** What every checker returns (the real ones' result interfaces fit it too). */
export interface CheckerResult {
  readonly valid: Validity;
}

/** A runner check's result: validity plus details for results.json. */
export type DetailedResult = CheckerResult & Readonly<Record<string, unknown>>;

export function unknownResult(reason: string): DetailedResult {
  return { valid: "unknown", reason };
}

export function getOrInsert<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}
