// What every client command shares: the global flags, a Cairn client built
// from them (with the saved token when the command needs a login), output as
// a table or --json, and the translation of failures into messages a person
// can act on.
import type { Command } from "commander";
import { Cairn } from "../client/client.js";
import { CairnAbortError, CairnRpcError, isUnauthenticated } from "../client/errors.js";
import { CliError } from "./parse.js";
import { formatTable } from "./table.js";
import { readToken } from "./token-file.js";

export interface GlobalOptions {
  readonly endpoints: string;
  readonly json: boolean;
  readonly timeout: string;
}

/** none: no token sent; optional: sent if saved; required: refuse to run without one. */
export type Auth = "none" | "optional" | "required";

export const LOGIN_HINT =
  "run `cairn user login USERNAME` (password via --password-stdin or CAIRN_PASSWORD)";

export function parseEndpoints(text: string): string[] {
  const endpoints = text
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "");
  if (endpoints.length === 0) {
    throw new CliError(`--endpoints must list host:port addresses, got ${JSON.stringify(text)}`);
  }
  return endpoints;
}

export function clientFrom(options: GlobalOptions, token: string | null = null): Cairn {
  const timeoutMs = Number(options.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new CliError(
      `--timeout must be a positive number of milliseconds, got "${options.timeout}"`,
    );
  }
  // --timeout bounds each command's calls, retries included; one attempt may
  // use at most half of it so a hung member leaves time to try another.
  return new Cairn({
    endpoints: parseEndpoints(options.endpoints),
    callTimeoutMs: timeoutMs,
    timeoutMs: Math.max(1, Math.ceil(timeoutMs / 2)),
    ...(token === null ? {} : { token }),
  });
}

export async function withClient(
  program: Command,
  auth: Auth,
  run: (client: Cairn, options: GlobalOptions) => Promise<void>,
): Promise<void> {
  const options = program.opts<GlobalOptions>();
  const token = auth === "none" ? null : readToken();
  if (auth === "required" && token === null) throw new CliError(`not logged in: ${LOGIN_HINT}`);
  const client = clientFrom(options, token);
  try {
    await run(client, options);
  } catch (error) {
    if (auth !== "none" && isUnauthenticated(error)) {
      const details = (error as CairnRpcError).details;
      throw new CliError(`not logged in, or the session has ended (${details}): ${LOGIN_HINT}`);
    }
    throw error;
  } finally {
    client.close();
  }
}

/** Prints `value` as JSON under --json, else the human text. */
export function output(options: GlobalOptions, value: unknown, text: () => string): void {
  process.stdout.write(options.json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}

/** A field/value table for one record. */
export function fieldTable(rows: readonly (readonly [string, string])[]): string {
  return formatTable(["FIELD", "VALUE"], rows);
}

/** The one line `cairn: …` prints for a failure, and the exit code. */
export function describeFailure(error: unknown): { message: string; exitCode: number } {
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
  if (error instanceof CairnAbortError) return { message: "interrupted", exitCode: 130 };
  if (error instanceof CairnRpcError) {
    const doubt = error.outcomeUnknown
      ? " (the request may or may not have been applied: check before retrying)"
      : "";
    return { message: `${error.codeName}: ${error.details}${doubt}`, exitCode: 1 };
  }
  if (error instanceof Error) {
    const details = (error as { details?: unknown }).details;
    return { message: typeof details === "string" ? details : error.message, exitCode: 1 };
  }
  return { message: String(error), exitCode: 1 };
}
