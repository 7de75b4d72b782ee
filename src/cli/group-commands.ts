// `cairn group join|leave|list|locate`: membership groups from the shell.
// The same join, leave and locate are also `cairn member` subcommands (issue
// 5's names), and `cairn member list --group NAME` lists a group.
// join stays in the foreground keeping the member's lease alive and leaves on
// Ctrl-C/SIGTERM (or, with --detach, exits and lets the lease run out);
// locate asks the server, or computes the answer locally with --local.
import type { Command } from "commander";
import type { Member } from "../client/types.js";
import { type GlobalOptions, output, withClient } from "./context.js";
import { CliError, collect, formatTime, parseInteger, parsePairs } from "./parse.js";
import { formatTable } from "./table.js";

const HEADERS = ["MEMBER", "ADDRESS", "WEIGHT", "LEASE", "JOINED", "METADATA"];

function memberRow(member: Member): string[] {
  return [
    member.memberId,
    member.address || "-",
    String(member.weight),
    member.leaseId.toString(16),
    formatTime(member.joinedAtMs),
    Object.entries(member.metadata)
      .map(([k, v]) => `${k}=${v}`)
      .join(",") || "-",
  ];
}

interface JoinFlags {
  readonly address: string;
  readonly weight?: string;
  readonly meta: string[];
  readonly ttl: string;
  readonly detach?: boolean;
}

/** Resolves on SIGINT/SIGTERM or when the membership is lost. */
function untilStopped(lost: AbortSignal): Promise<"signal" | "lost"> {
  return new Promise((resolve) => {
    const done = (why: "signal" | "lost"): void => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      lost.removeEventListener("abort", onLost);
      resolve(why);
    };
    const onSignal = (): void => done("signal");
    const onLost = (): void => done("lost");
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    lost.addEventListener("abort", onLost, { once: true });
  });
}

function printMembers(options: GlobalOptions, members: readonly Member[], value: unknown): void {
  output(options, value, () => formatTable(HEADERS, members.map(memberRow)));
}

function registerJoin(member: Command, program: Command): void {
  member
    .command("join <group> <member-id>")
    .description("join a group and stay joined until Ctrl-C/SIGTERM (then leave)")
    .requiredOption("--address <host:port>", "where the member serves")
    .option("--weight <n>", "share of keys, 1..1000 (default 1)")
    .option("--meta <key=value>", "metadata, repeatable", collect, [])
    .option("--ttl <seconds>", "lease TTL: how long a crashed member stays listed", "10")
    .option("--detach", "exit right after joining; the member lasts until its lease expires")
    .action((group: string, memberId: string, flags: JoinFlags) =>
      withClient(program, "required", async (client, options) => {
        const handle = await client.membership.join(
          {
            group,
            memberId,
            address: flags.address,
            metadata: parsePairs("--meta", flags.meta),
            ...(flags.weight === undefined
              ? {}
              : { weight: parseInteger("--weight", flags.weight, 1, 1_000) }),
          },
          { ttlSeconds: parseInteger("--ttl", flags.ttl, 1, 86_400) },
        );
        output(options, { member: handle.member, change: handle.change }, () => {
          const moved =
            handle.change === null
              ? ""
              : `, ${(handle.change.movedFraction * 100).toFixed(1)}% of keys moved`;
          return `joined ${group} as ${memberId} (lease ${handle.leaseId.toString(16)}${moved})`;
        });
        if (flags.detach === true) {
          handle.detach();
          return;
        }
        const why = await untilStopped(handle.signal);
        if (why === "lost") {
          throw new CliError(`lost membership of ${group}: its lease could not be renewed`);
        }
        await handle.leave();
        if (!options.json) process.stdout.write(`left ${group}\n`);
      }),
    );
}

function registerLeaveAndLocate(member: Command, program: Command): void {
  member
    .command("leave <group> <member-id>")
    .description("remove a member from a group")
    .action((group: string, memberId: string) =>
      withClient(program, "required", async (client, options) => {
        const change = await client.membership.leave(group, memberId);
        output(options, { change }, () => `${memberId} left ${group}`);
      }),
    );
  member
    .command("locate <group> <key>")
    .description("the members that own a key, best first (weighted rendezvous hashing)")
    .option("--replicas <n>", "how many owners (1..16)", "1")
    .option("--local", "compute it here from the member list instead of asking the server")
    .action((group: string, key: string, flags: { replicas: string; local?: boolean }) =>
      withClient(program, "required", async (client, options) => {
        const replicas = parseInteger("--replicas", flags.replicas, 1, 16);
        let owners: Member[];
        let revision: number;
        if (flags.local === true) {
          const view = await client.membership.view(group);
          owners = view.locate(key, replicas);
          revision = view.revision;
          view.close();
        } else {
          ({ owners, revision } = await client.membership.locate(group, key, { replicas }));
        }
        printMembers(options, owners, { key, revision, owners });
      }),
    );
}

/** Prints a group's members: `cairn group list GROUP` and `cairn member list --group GROUP`. */
export function listGroup(program: Command, group: string): Promise<void> {
  return withClient(program, "required", async (client, options) => {
    const { members } = await client.membership.list(group);
    printMembers(options, members, members);
  });
}

/** Adds `join`, `leave` and `locate` under `parent` (`cairn group` or `cairn member`). */
export function registerGroupMemberCommands(parent: Command, program: Command): void {
  registerJoin(parent, program);
  registerLeaveAndLocate(parent, program);
}

export function registerGroupCommands(program: Command): void {
  const group = program
    .command("group")
    .description("membership groups of the platform's services and key placement");
  registerGroupMemberCommands(group, program);
  group
    .command("list <group>")
    .description("the group's members")
    .action((name: string) => listGroup(program, name));
}
