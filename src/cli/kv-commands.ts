// `cairn put|get|del|status`: thin wrappers over the client library.
import type { Command } from "commander";
import type { NodeStatus } from "../client/client.js";
import { withClient } from "./context.js";
import { formatTable } from "./table.js";

function statusRow(endpoint: string, status: NodeStatus | Error): string[] {
  if (status instanceof Error) {
    return [
      endpoint,
      "-",
      "-",
      "unreachable",
      "-",
      "-",
      "-",
      "-",
      status.message.split("\n")[0] ?? "",
    ];
  }
  const peers = status.peers
    .map((p) => `${p.name}:${(p.lastContactMsAgo ?? -1) < 0 ? "never" : `${p.lastContactMsAgo}ms`}`)
    .join(" ");
  return [
    endpoint,
    status.name,
    status.id.toString(16),
    status.role,
    String(status.term),
    status.leaderName || "-",
    String(status.commitIndex),
    String(status.appliedIndex),
    peers,
  ];
}

export function registerKvCommands(program: Command): void {
  program
    .command("put <key> <value>")
    .description("write a key (through Raft; any member accepts it)")
    .action((key: string, value: string) =>
      withClient(program, "none", async (client, options) => {
        const { revision } = await client.put(key, value);
        process.stdout.write(options.json ? `${JSON.stringify({ revision })}\n` : "OK\n");
      }),
    );
  program
    .command("get <key>")
    .description("read a key (linearizable unless --serializable)")
    .option("--serializable", "read this member's local state, possibly stale", false)
    .action((key: string, commandOptions: { serializable: boolean }) =>
      withClient(program, "none", async (client, options) => {
        const kv = await client.get(key, { serializable: commandOptions.serializable });
        if (options.json) {
          process.stdout.write(
            `${JSON.stringify(kv === null ? null : { ...kv, key: kv.key.toString(), value: kv.value.toString() })}\n`,
          );
        } else if (kv !== null) {
          process.stdout.write(`${kv.key.toString()}\n${kv.value.toString()}\n`);
        }
      }),
    );
  program
    .command("del <key>")
    .description("delete a key")
    .action((key: string) =>
      withClient(program, "none", async (client, options) => {
        const { deleted } = await client.delete(key);
        process.stdout.write(options.json ? `${JSON.stringify({ deleted })}\n` : `${deleted}\n`);
      }),
    );
  program
    .command("status")
    .description(
      "per member: role, term, leader, commit/applied index, last contact with each peer",
    )
    .action(() =>
      withClient(program, "none", async (client, options) => {
        const endpoints = options.endpoints.split(",");
        const statuses = await Promise.all(
          endpoints.map((_, i) => client.status(i).catch((error: Error) => error)),
        );
        if (options.json) {
          process.stdout.write(
            `${JSON.stringify(
              statuses.map((s, i) =>
                s instanceof Error
                  ? { endpoint: endpoints[i], error: s.message }
                  : { endpoint: endpoints[i], ...s.toJSON() },
              ),
              null,
              2,
            )}\n`,
          );
          return;
        }
        const headers = [
          "ENDPOINT",
          "NAME",
          "ID",
          "ROLE",
          "TERM",
          "LEADER",
          "COMMIT",
          "APPLIED",
          "PEERS (last contact)",
        ];
        process.stdout.write(
          `${formatTable(
            headers,
            statuses.map((s, i) => statusRow(endpoints[i] ?? "", s)),
          )}\n`,
        );
        if (statuses.every((s) => s instanceof Error)) process.exitCode = 1;
      }),
    );
}
