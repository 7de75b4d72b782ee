// A tiny table-driven validator: each rule names a field by its API path
// (proto field names), says what is allowed, and tests one value. The first
// failing rule becomes the message "<path> must be <allowed>, got <value>",
// e.g. `resource.spec.cpu must be 1..512, got 0`.

export interface Rule<T> {
  /** Path below the table's prefix, e.g. "spec.cpu". */
  readonly path: string;
  readonly allowed: string;
  readonly value: (target: T) => unknown;
  readonly ok: (value: unknown) => boolean;
  /** The value is a list and `ok` applies to each element; the path gets "[i]". */
  readonly each?: true;
}

const SHOWN_CHARS_MAX = 64;

export function show(value: unknown): string {
  if (typeof value === "string") {
    const text = JSON.stringify(value);
    return text.length > SHOWN_CHARS_MAX ? `${text.slice(0, SHOWN_CHARS_MAX)}…"` : text;
  }
  if (Array.isArray(value)) return `${value.length} entries`;
  if (value === null || value === undefined) return "nothing";
  if (typeof value === "object") return "an object";
  return String(value);
}

export function checkRules<T>(target: T, prefix: string, rules: readonly Rule<T>[]): string | null {
  for (const rule of rules) {
    const value = rule.value(target);
    if (rule.each === true) {
      const items = Array.isArray(value) ? (value as unknown[]) : [];
      for (let i = 0; i < items.length; i++) {
        if (!rule.ok(items[i])) {
          return `${prefix}${rule.path}[${i}] must be ${rule.allowed}, got ${show(items[i])}`;
        }
      }
      continue;
    }
    if (!rule.ok(value)) return `${prefix}${rule.path} must be ${rule.allowed}, got ${show(value)}`;
  }
  return null;
}

/** Map entries as a list of [key, value] checks: key rules first, then value rules. */
export function checkMap(
  map: Readonly<Record<string, string>>,
  path: string,
  limits: {
    readonly entriesMax: number;
    readonly key: { readonly allowed: string; readonly pattern: RegExp };
    readonly value: { readonly allowed: string; readonly pattern: RegExp };
  },
): string | null {
  if (typeof map !== "object" || map === null || Array.isArray(map)) {
    return `${path} must be a map of strings, got ${show(map)}`;
  }
  const keys = Object.keys(map).sort();
  if (keys.length > limits.entriesMax) {
    return `${path} must be at most ${limits.entriesMax} entries, got ${keys.length}`;
  }
  for (const key of keys) {
    if (!limits.key.pattern.test(key)) {
      return `${path} key must be ${limits.key.allowed}, got ${show(key)}`;
    }
    const value = map[key];
    if (typeof value !== "string" || !limits.value.pattern.test(value)) {
      return `${path}[${JSON.stringify(key)}] must be ${limits.value.allowed}, got ${show(value)}`;
    }
  }
  return null;
}

export const intIn =
  (min: number, max: number) =>
  (value: unknown): boolean =>
    Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;

export const matches =
  (pattern: RegExp) =>
  (value: unknown): boolean =>
    typeof value === "string" && pattern.test(value);

export const oneOf =
  (choices: readonly string[]) =>
  (value: unknown): boolean =>
    typeof value === "string" && choices.includes(value);

export const countAtMost =
  (max: number) =>
  (value: unknown): boolean =>
    Array.isArray(value) && value.length <= max;

export const countIn =
  (min: number, max: number) =>
  (value: unknown): boolean =>
    Array.isArray(value) && value.length >= min && value.length <= max;

/** Shown in messages as "1..512". */
export const range = (min: number, max: number): string => `${min}..${max}`;
