// `cairn leader transfer TARGET`: moves leadership to a member named by name
// or hex id (etcdctl move-leader, with names). The client finds the leader
// among --endpoints and asks it to hand over; the command returns once the
// target leads.
import type { Command } from "commander";
import { UnknownMemberError } from "../client/errors.js";
import { output, withClient } from "./context.js";
import { CliError } from "./parse.js";

const describe = (member: { id: number; name: string }): string =>
  `${member.name} (${member.id.toString(16)})`;

export function registerLeaderCommands(program: Command): void {
  const leader = program.command("leader").description("the cluster's Raft leader");
  leader
    .command("transfer <target>")
    .description(
      "make TARGET (a member name or hex id) the leader; --endpoints must include the current leader",
    )
    .action((target: string) =>
      withClient(program, "none", async (client, options) => {
        let moved: Awaited<ReturnType<typeof client.moveLeader>>;
        try {
          moved = await client.moveLeader(target);
        } catch (error) {
          // A usage error, not the cluster's: exit 2 like other bad arguments.
          if (error instanceof UnknownMemberError) throw new CliError(error.message, 2);
          throw error;
        }
        const { from, to, term } = moved;
        const value = { from, to, term, moved: from.id !== to.id };
        output(options, value, () =>
          from.id === to.id
            ? `${describe(to)} already leads (term ${term})`
            : `leadership moved from ${describe(from)} to ${describe(to)} (term ${term})`,
        );
      }),
    );
}
