// Replicated commands: versioned records proposed through Raft and applied by
// every member. `id` is the proposer's request id (it resolves the waiting
// request), `at` the proposer's wall clock in ms: time enters the state machine
// only here, which keeps apply deterministic.
import { Packr } from "msgpackr";
import { assert } from "../util/assert.js";

export const COMMAND_VERSION = 1;

interface CommandBase {
  readonly v: typeof COMMAND_VERSION;
  /** Request id chosen by the proposing node; unique across restarts. */
  readonly id: number;
  /** Proposer's wall clock, milliseconds since the epoch. */
  readonly at: number;
}

export interface PutCommand extends CommandBase {
  readonly kind: "put";
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly lease: number;
  readonly prevKv: boolean;
  readonly ignoreValue: boolean;
  readonly ignoreLease: boolean;
}

export interface DeleteRangeCommand extends CommandBase {
  readonly kind: "delete-range";
  readonly key: Uint8Array;
  /** Empty = single key; "\0" = every key >= key; otherwise [key, rangeEnd). */
  readonly rangeEnd: Uint8Array;
  readonly prevKv: boolean;
}

export type Command = PutCommand | DeleteRangeCommand;

// No shared record structures: each WAL record must decode on its own, even
// after a restart or on another member (see reference/ecosystem.md, msgpackr).
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

export function encodeCommand(command: Command): Uint8Array {
  return packr.pack(command);
}

export function decodeCommand(bytes: Uint8Array): Command {
  const raw: unknown = packr.unpack(bytes);
  assert(typeof raw === "object" && raw !== null, "command must decode to an object");
  const command = raw as Command;
  assert(command.v === COMMAND_VERSION, `unsupported command version ${String(command.v)}`);
  assert(typeof command.id === "number", "command id must be a number");
  return command;
}
