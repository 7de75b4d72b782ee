// Test-only (--unsafe-test-mode): damages this member's in-memory state
// without Raft, as a bit flip in RAM or a non-deterministic apply bug would,
// so end-to-end tests can watch the periodic corruption check catch it. The
// disk is left alone: a restart heals the member.
import { keyString } from "../state/key-range.js";
import type { StateMachine } from "../state/state-machine.js";

function flippedCopy(bytes: Uint8Array): Uint8Array {
  // A copy: the original may share its buffer with the Raft log entry it came from.
  const copy = Uint8Array.from(bytes);
  copy[0] = (copy[0] as number) ^ 0xff;
  return copy;
}

/** Flips the first byte of a key's current value, or of a platform user's password hash. */
export function corruptForTest(
  stateMachine: StateMachine,
  request: unknown,
): { corrupted: string } {
  const body = request as Partial<Record<"kv" | "user", unknown>>;
  if (typeof body.kv === "string") {
    const kv = stateMachine.kv.get(keyString(Buffer.from(body.kv, "utf8")));
    if (kv === undefined || kv.value.byteLength === 0) {
      throw new Error(`key ${body.kv} has no value to corrupt`);
    }
    (kv as { value: Uint8Array }).value = flippedCopy(kv.value);
    return { corrupted: `kv ${body.kv}` };
  }
  if (typeof body.user === "string") {
    const user = stateMachine.platform.users.get(body.user);
    if (user === undefined) throw new Error(`no user ${body.user}`);
    (user as { passwordHash: Uint8Array }).passwordHash = flippedCopy(user.passwordHash);
    return { corrupted: `user ${body.user}` };
  }
  throw new Error('expected {"kv": "<key>"} or {"user": "<username>"}');
}
