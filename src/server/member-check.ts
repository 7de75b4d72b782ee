// Boot-time check that a data dir belongs to the member starting on it: its
// conf state (written at bootstrap, or by `cairn snapshot restore`) must list
// the id this member's flags give it. A mismatch means the member was started
// with another --name or --initial-cluster-token than the data dir was made
// for; without this check the Raft core would stop on an assertion that does
// not tell the operator what to change.
import type { ConfState, NodeId } from "../raft/types.js";
import { ConfigError } from "./config.js";
import { formatId } from "./ids.js";

export function checkDataDirMember(
  dataDir: string,
  confState: ConfState,
  selfId: NodeId,
  name: string,
): void {
  const members = [...confState.voters, ...confState.learners];
  if (members.includes(selfId)) return;
  throw new ConfigError(
    `data dir ${dataDir} belongs to members ${members.map(formatId).join(",")}, and this ` +
      `member's id ${formatId(selfId)} (from --name ${name} and --initial-cluster-token) is not ` +
      "one of them: start it with the --name, --initial-cluster and --initial-cluster-token " +
      "the data dir was created (or restored) with",
  );
}
