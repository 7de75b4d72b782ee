// `cairn lock NAME -- command args…`: runs the command while holding the
// platform lock, with the fence exported as CAIRN_LOCK_NAME/CAIRN_LOCK_TOKEN
// (pass them to `cairn resource … --fence-lock --fence-token`), releases it
// afterwards, and exits with the command's exit code. If the lease is lost
// the command is terminated: it no longer holds the lock.
import { type ChildProcess, spawn } from "node:child_process";
import { constants } from "node:os";
import type { Command } from "commander";
import type { LockContext } from "../client/with-lock.js";
import { withClient } from "./context.js";
import { CliError, parseInteger } from "./parse.js";

interface LockFlags {
  readonly ttl: string;
  readonly waitMs: string;
}

/** A shell's convention: 128 + signal number for a child killed by a signal. */
function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const number = signal === null ? 0 : (constants.signals[signal] ?? 0);
  return 128 + number;
}

function waitForExit(child: ChildProcess, command: string): Promise<number> {
  return new Promise((resolve, reject) => {
    child.once("error", (error: NodeJS.ErrnoException) => {
      const exitCode = error.code === "ENOENT" ? 127 : 126;
      reject(new CliError(`cannot run ${command}: ${error.message}`, exitCode));
    });
    child.once("exit", (code, signal) => resolve(exitCodeOf(code, signal)));
  });
}

/** Runs the command as the lock's holder; `track` learns of the child so signals reach it. */
async function runHolding(
  fence: LockContext,
  command: readonly [string, ...string[]],
  track: (child: ChildProcess) => void,
): Promise<number> {
  const [file, ...args] = command;
  const child = spawn(file, args, {
    stdio: "inherit",
    env: { ...process.env, CAIRN_LOCK_NAME: fence.lock, CAIRN_LOCK_TOKEN: String(fence.token) },
  });
  track(child);
  const terminate = (): void => {
    process.stderr.write(`cairn: lost the lock ${fence.lock}; terminating ${file}\n`);
    child.kill("SIGTERM");
  };
  fence.signal.addEventListener("abort", terminate, { once: true });
  try {
    return await waitForExit(child, file);
  } finally {
    fence.signal.removeEventListener("abort", terminate);
  }
}

export function registerLockCommand(program: Command): void {
  program
    .command("lock <name> [command...]")
    .description(
      "run a command while holding the lock NAME (`cairn lock deploy -- ./deploy.sh`); " +
        "exports CAIRN_LOCK_NAME and CAIRN_LOCK_TOKEN, exits with the command's code",
    )
    .option("--ttl <seconds>", "lease TTL: how long the lock outlives a crashed holder", "10")
    .option("--wait-ms <ms>", "how long to wait in line", "60000")
    .action((name: string, command: string[], flags: LockFlags) =>
      withClient(program, "required", async (client) => {
        const [file, ...args] = command;
        if (file === undefined) {
          throw new CliError("no command given: cairn lock NAME -- command args…");
        }
        const ttlSeconds = parseInteger("--ttl", flags.ttl, 1, 86_400);
        const waitMs = parseInteger("--wait-ms", flags.waitMs, 1, 86_400_000);
        const controller = new AbortController();
        let child: ChildProcess | null = null;
        // Ctrl-C while waiting abandons the wait; while running it goes to the command.
        const onSignal = (signal: NodeJS.Signals): void => {
          if (child === null) controller.abort(new Error(`received ${signal}`));
          else child.kill(signal);
        };
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
        try {
          process.exitCode = await client.lock(
            name,
            (fence) =>
              runHolding(fence, [file, ...args], (started) => {
                child = started;
              }),
            { ttlSeconds, waitMs, signal: controller.signal },
          );
        } finally {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
        }
      }),
    );
}
