// Runs Debian's etcdctl 3.4 as a child process for the e2e tests: one-shot
// commands with a deadline, and long-running ones (watch, lock, elect) whose
// output is read while they run. Every process is bounded by a timeout and
// stopped by its own PID.
import { type ChildProcess, spawn } from "node:child_process";

export interface CtlResult {
  readonly stdout: string;
  readonly stderr: string;
  /** Exit code, or null when a signal ended the process. */
  readonly code: number | null;
  readonly timedOut: boolean;
}

export interface CtlOptions {
  readonly stdin?: string;
  readonly timeoutMs?: number;
}

const COMMAND_TIMEOUT_MS = 15_000;
/** etcdctl's own defaults (2 s dial, 5 s per command) are tight on a 2-core CI box running other suites. */
const CTL_TIMEOUT_FLAGS = ["--dial-timeout=5s", "--command-timeout=10s"];
const STOP_GRACE_MS = 3_000;

/** The environment etcdctl runs in: API v3 and no ETCDCTL_* settings leaking in from the caller. */
function ctlEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("ETCDCTL_")) env[key] = value;
  }
  env.ETCDCTL_API = "3";
  return env;
}

function describeResult(args: readonly string[], result: CtlResult): string {
  return (
    `etcdctl ${args.join(" ")} → code ${result.code}${result.timedOut ? " (timed out)" : ""}\n` +
    `stdout: ${JSON.stringify(result.stdout)}\nstderr: ${JSON.stringify(result.stderr)}`
  );
}

/** A long-running etcdctl whose output is collected as it arrives. */
export class CtlProcess {
  stdout = "";
  stderr = "";
  private readonly exited: Promise<CtlResult>;
  private timedOut = false;
  private readonly deadline: NodeJS.Timeout;

  constructor(
    private readonly child: ChildProcess,
    readonly args: readonly string[],
    timeoutMs: number,
  ) {
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      this.stdout += chunk;
    });
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => {
      child.once("close", (code) => {
        clearTimeout(this.deadline);
        resolve({
          stdout: this.stdout,
          stderr: this.stderr,
          code,
          timedOut: this.timedOut,
        });
      });
    });
    // The bound on every spawned process: past it, SIGKILL by our own PID.
    this.deadline = setTimeout(() => {
      this.timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with stdout once `pattern` matches it; rejects after `timeoutMs` or if the process exits first. */
  async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const match = this.stdout.match(pattern);
      if (match !== null) return match;
      if (!this.running) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const match = this.stdout.match(pattern);
    if (match !== null) return match;
    throw new Error(
      `etcdctl ${this.args.join(" ")}: ${pattern} not seen within ${timeoutMs} ms ` +
        `(running: ${this.running})\nstdout: ${JSON.stringify(this.stdout)}\nstderr: ${JSON.stringify(this.stderr)}`,
    );
  }

  /** Sends `signal` (SIGINT by default, which lets lock/elect release), then SIGKILL after a grace period. */
  async stop(signal: NodeJS.Signals = "SIGINT"): Promise<CtlResult> {
    if (this.running) {
      this.child.kill(signal);
      const grace = setTimeout(() => this.child.kill("SIGKILL"), STOP_GRACE_MS);
      const result = await this.exited;
      clearTimeout(grace);
      return result;
    }
    return this.exited;
  }

  /** Waits for the process to exit by itself (bounded by its deadline). */
  finished(): Promise<CtlResult> {
    return this.exited;
  }
}

export class Etcdctl {
  constructor(private readonly binary: string) {}

  /** Starts `etcdctl --endpoints endpoint …args`; the process is killed once `timeoutMs` passes. */
  spawn(endpoint: string, args: readonly string[], options: CtlOptions = {}): CtlProcess {
    const fullArgs = ["--endpoints", endpoint, ...CTL_TIMEOUT_FLAGS, ...args];
    const child = spawn(this.binary, fullArgs, {
      stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      env: ctlEnvironment(),
    });
    if (options.stdin !== undefined) child.stdin?.end(options.stdin);
    return new CtlProcess(child, fullArgs, options.timeoutMs ?? COMMAND_TIMEOUT_MS);
  }

  /** Runs one command to completion. */
  run(endpoint: string, args: readonly string[], options: CtlOptions = {}): Promise<CtlResult> {
    return this.spawn(endpoint, args, options).finished();
  }

  /** Runs one command and returns its stdout; throws with both streams unless it exits 0. */
  async ok(endpoint: string, args: readonly string[], options: CtlOptions = {}): Promise<string> {
    const result = await this.run(endpoint, args, options);
    if (result.code !== 0)
      throw new Error(describeResult(["--endpoints", endpoint, ...args], result));
    return result.stdout;
  }

  /** Runs one command that must fail; returns its stderr (where etcdctl prints `Error: …`). */
  async fails(
    endpoint: string,
    args: readonly string[],
    options: CtlOptions = {},
  ): Promise<string> {
    const result = await this.run(endpoint, args, options);
    if (result.code === 0 || result.timedOut) {
      throw new Error(
        `expected failure: ${describeResult(["--endpoints", endpoint, ...args], result)}`,
      );
    }
    return result.stderr;
  }
}
