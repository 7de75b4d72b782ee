// Parsing of CLI flag values into what the client library takes, with errors
// that name the flag, say what is allowed and echo what was given.

export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export function parseInteger(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new CliError(`${flag} must be an integer ${min}..${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}

export function parseChoice<T extends string>(
  flag: string,
  text: string,
  choices: readonly T[],
): T {
  const choice = choices.find((c) => c === text.toLowerCase());
  if (choice === undefined) {
    throw new CliError(`${flag} must be one of ${choices.join("|")}, got ${JSON.stringify(text)}`);
  }
  return choice;
}

/** commander collector for repeatable flags (`--label a=1 --label b=2`). */
export function collect(value: string, previous: readonly string[]): string[] {
  return [...previous, value];
}

/** `k=v` pairs from repeated or comma-separated flags. */
export function parsePairs(flag: string, items: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items.flatMap((i) => i.split(","))) {
    if (item.trim() === "") continue;
    const at = item.indexOf("=");
    if (at <= 0) throw new CliError(`${flag} must be key=value, got ${JSON.stringify(item)}`);
    out[item.slice(0, at).trim()] = item.slice(at + 1).trim();
  }
  return out;
}

const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * A point in time: a duration ago ("90s", "10m", "2h", "7d"), an ISO 8601
 * date/time ("2026-11-23T10:00:00Z"), or ms since the epoch.
 */
export function parseTime(flag: string, text: string, nowMs: number = Date.now()): number {
  const trimmed = text.trim();
  const ago = /^(\d+)([smhd])$/.exec(trimmed);
  if (ago !== null) return nowMs - Number(ago[1]) * (UNIT_MS[ago[2] as string] as number);
  if (/^\d{10,}$/.test(trimmed)) return Number(trimmed);
  const parsed = Date.parse(trimmed);
  if (/^\d{4}-\d{2}-\d{2}/.test(trimmed) && Number.isFinite(parsed)) return parsed;
  throw new CliError(
    `${flag} must be a duration ago (10m, 2h, 7d), an ISO time (2026-11-23T10:00:00Z) or ms since the epoch, got ${JSON.stringify(text)}`,
  );
}

export function formatTime(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z") : "-";
}
