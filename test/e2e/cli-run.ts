// Runs the built `cairn` CLI as a child process against a test cluster, with
// its own config dir (XDG_CONFIG_HOME) so the saved token is per test file.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { TestCluster } from "./harness.js";

export const CLI = resolve(import.meta.dirname, "..", "..", "dist", "src", "cli", "main.js");

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export class CliRunner {
  readonly configHome = mkdtempSync(join(tmpdir(), "cairn-cli-config-"));

  constructor(private readonly cluster: TestCluster) {}

  get env(): NodeJS.ProcessEnv {
    const { CAIRN_TOKEN: _token, CAIRN_PASSWORD: _password, ...rest } = process.env;
    return { ...rest, XDG_CONFIG_HOME: this.configHome };
  }

  args(args: readonly string[]): string[] {
    const endpoints = this.cluster.members.map((m) => m.client).join(",");
    return [CLI, "--endpoints", endpoints, "--timeout", "10000", ...args];
  }

  /** Starts `cairn …`; the caller reads its output and waits for it. */
  spawn(args: readonly string[], stdin?: string): ChildProcess {
    const child = spawn(process.execPath, this.args(args), {
      env: this.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    child.stdin?.end(stdin ?? "");
    return child;
  }

  /** Runs `cairn …` to completion. */
  run(args: readonly string[], stdin?: string): Promise<CliResult> {
    return finished(this.spawn(args, stdin));
  }

  /** Runs `cairn --json …`, expects success and parses stdout. */
  async json<T>(args: readonly string[], stdin?: string): Promise<T> {
    const result = await this.run(["--json", ...args], stdin);
    if (result.code !== 0) {
      throw new Error(`cairn ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
    }
    return JSON.parse(result.stdout) as T;
  }
}

export function finished(child: ChildProcess): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((done) => {
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}
