// `cairn member list|add|remove|promote|update`: the cluster's Raft
// membership, as etcdctl member does. A member is named by its hex id or its
// name. `add` prints the command that starts the new member. `join`, `leave`,
// `locate` and `list --group` are the platform's membership groups, shared
// with `cairn group`.
import type { Command } from "commander";
import type { Cairn } from "../client/client.js";
import type { ClusterMember } from "../client/cluster.js";
import { output, withClient } from "./context.js";
import { listGroup, registerGroupMemberCommands } from "./group-commands.js";
import { CliError } from "./parse.js";
import { formatTable } from "./table.js";

const HEADERS = ["ID", "STATUS", "NAME", "PEER ADDRS", "CLIENT ADDRS", "IS LEARNER"];

function row(member: ClusterMember): string[] {
  return [
    member.id.toString(16),
    member.name === "" ? "unstarted" : "started",
    member.name || "-",
    member.peerUrls.join(",") || "-",
    member.clientUrls.join(",") || "-",
    String(member.isLearner),
  ];
}

function table(members: readonly ClusterMember[]): string {
  return formatTable(HEADERS, members.map(row));
}

function asJson(
  members: readonly ClusterMember[],
): Array<Omit<ClusterMember, "id"> & { id: string }> {
  return members.map((m) => ({ ...m, id: m.id.toString(16) }));
}

/** A member by hex id or by name. */
async function resolveMember(client: Cairn, idOrName: string): Promise<ClusterMember> {
  const members = await client.cluster.list();
  const byName = members.filter((m) => m.name === idOrName);
  if (byName.length === 1 && byName[0] !== undefined) return byName[0];
  if (/^[0-9a-fA-F]+$/.test(idOrName)) {
    const id = Number.parseInt(idOrName, 16);
    const byId = members.find((m) => m.id === id);
    if (byId !== undefined) return byId;
  }
  throw new CliError(
    `no member named or with id "${idOrName}"; members: ${members.map((m) => `${m.name || "-"} (${m.id.toString(16)})`).join(", ")}`,
  );
}

function peerUrlList(raw: string): string[] {
  const urls = raw
    .split(",")
    .map((u) => u.trim())
    .filter((u) => u !== "");
  if (urls.length === 0)
    throw new CliError("--peer-urls needs at least one URL, e.g. http://10.0.0.4:2380");
  return urls;
}

/** The start command for a member just added, with the membership it must be told. */
function startHint(name: string, added: ClusterMember, members: readonly ClusterMember[]): string {
  const host = (url: string) => url.replace(/^https?:\/\//, "");
  const cluster = members
    .map(
      (m) =>
        `${m.id === added.id ? name : m.name || m.id.toString(16)}=${host(m.peerUrls[0] ?? "")}`,
    )
    .join(",");
  return [
    `Member ${added.id.toString(16)} added to the cluster${added.isLearner ? " as a learner" : ""}.`,
    "Start it with:",
    `  cairn serve --name ${name} --listen-peer ${host(added.peerUrls[0] ?? "")} \\`,
    `    --initial-cluster ${cluster} --initial-cluster-state existing`,
  ].join("\n");
}

export function registerMemberCommands(program: Command): void {
  const member = program
    .command("member")
    .description(
      "the cluster's Raft members (etcdctl member); join, leave, locate and list --group: membership groups",
    );
  member
    .command("list")
    .description(
      "every Raft member: id, name, peer and client URLs, learner or voter; with --group, that group's members",
    )
    .option("--group <name>", "list this membership group's members instead")
    .action((flags: { group?: string }) => {
      if (flags.group !== undefined) return listGroup(program, flags.group);
      return withClient(program, "none", async (client, options) => {
        const members = await client.cluster.list();
        output(options, asJson(members), () => table(members));
      });
    });
  registerGroupMemberCommands(member, program);
  member
    .command("add <name>")
    .description("add a member (voter, or --learner); then start it with the printed command")
    .requiredOption("--peer-urls <urls>", "the new member's peer URL(s), comma-separated")
    .option("--learner", "add as a non-voting learner (promote it once caught up)", false)
    .action((name: string, flags: { peerUrls: string; learner: boolean }) =>
      withClient(program, "none", async (client, options) => {
        const { member: added, members } = await client.cluster.add(peerUrlList(flags.peerUrls), {
          learner: flags.learner,
        });
        output(options, { member: asJson([added])[0], members: asJson(members) }, () =>
          startHint(name, added, members),
        );
      }),
    );
  member
    .command("remove <member>")
    .description(
      "remove a member (by name or hex id); removing the leader hands leadership off first",
    )
    .action((idOrName: string) =>
      withClient(program, "none", async (client, options) => {
        const target = await resolveMember(client, idOrName);
        const members = await client.cluster.remove(target.id);
        output(
          options,
          asJson(members),
          () => `Member ${target.id.toString(16)} removed.\n${table(members)}`,
        );
      }),
    );
  member
    .command("promote <member>")
    .description("make a caught-up learner a voter")
    .action((idOrName: string) =>
      withClient(program, "none", async (client, options) => {
        const target = await resolveMember(client, idOrName);
        const members = await client.cluster.promote(target.id);
        output(
          options,
          asJson(members),
          () => `Member ${target.id.toString(16)} promoted.\n${table(members)}`,
        );
      }),
    );
  member
    .command("update <member>")
    .description("change a member's peer URLs")
    .requiredOption("--peer-urls <urls>", "the member's new peer URL(s), comma-separated")
    .action((idOrName: string, flags: { peerUrls: string }) =>
      withClient(program, "none", async (client, options) => {
        const target = await resolveMember(client, idOrName);
        const members = await client.cluster.update(target.id, peerUrlList(flags.peerUrls));
        output(
          options,
          asJson(members),
          () => `Member ${target.id.toString(16)} updated.\n${table(members)}`,
        );
      }),
    );
}
