#!/usr/bin/env node
// The `cairn` command. `serve` runs a member (its flags are parsed by the
// server's own config module so CAIRN_* env vars apply the same way); every
// other command is a client of a running cluster.
import { Command } from "commander";
import { defaultEndpoints } from "../../cluster/ports.js";
import { describeFailure } from "./context.js";
import { registerGroupCommands } from "./group-commands.js";
import { registerKvCommands } from "./kv-commands.js";
import { registerLeaderCommands } from "./leader-commands.js";
import { registerLockCommand } from "./lock-command.js";
import { registerLogCommand } from "./log-command.js";
import { registerMemberCommands } from "./member-commands.js";
import { registerResourceCommands } from "./resource-commands.js";
import { registerSnapshotCommands } from "./snapshot-commands.js";
import { registerUserCommands } from "./user-commands.js";

async function main(argv: string[]): Promise<void> {
  if (argv[2] === "serve") {
    const { serveMain } = await import("../server/serve.js");
    await serveMain(argv.slice(3));
    return;
  }
  const program = new Command("cairn")
    .description("cairn: a Raft-replicated coordination server speaking the etcd v3 API")
    .option(
      "--endpoints <list>",
      "comma-separated host:port list",
      process.env.CAIRN_ENDPOINTS ?? defaultEndpoints().join(","),
    )
    .option("--timeout <ms>", "deadline of each request, retries included, in milliseconds", "5000")
    .option("--json", "machine-readable output", false)
    .showHelpAfterError();
  program.command("serve").description("run a cluster member (see `cairn serve --help`)");
  registerKvCommands(program);
  registerUserCommands(program);
  registerResourceCommands(program);
  registerLogCommand(program);
  registerLockCommand(program);
  registerGroupCommands(program);
  registerMemberCommands(program);
  registerSnapshotCommands(program);
  registerLeaderCommands(program);
  await program.parseAsync(argv);
}

main(process.argv).catch((error: unknown) => {
  const { message, exitCode } = describeFailure(error);
  process.stderr.write(`cairn: ${message}\n`);
  process.exit(exitCode);
});
