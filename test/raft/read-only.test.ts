// The ReadIndex confirmation queue: positions, echoed acks, batch release.

import { describe, expect, it } from "vitest";
import { decodePosition, encodePosition, ReadOnlyQueue } from "../../src/raft/read-only.js";

function request(index: number, tag: string) {
  return { index, from: 1, context: new TextEncoder().encode(tag) };
}

describe("ReadOnlyQueue", () => {
  it("encodes positions beyond 32 bits and rejects foreign contexts", () => {
    for (const position of [1, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
      expect(decodePosition(encodePosition(position))).toBe(position);
    }
    expect(decodePosition(new Uint8Array(3))).toBeUndefined();
    expect(decodePosition(new Uint8Array(8))).toBeUndefined();
  });

  it("releases every request up to the position a quorum echoed, in order", () => {
    const queue = new ReadOnlyQueue();
    const voters = [1, 2, 3];
    queue.recvAck(1, queue.add(request(5, "a")));
    queue.recvAck(1, queue.add(request(5, "b")));
    expect(decodePosition(queue.heartbeatContext())).toBe(2);
    expect(queue.maybeAdvance(voters)).toEqual([]);
    queue.recvAck(3, 2);
    expect(queue.maybeAdvance(voters).map((r) => new TextDecoder().decode(r.context))).toEqual([
      "a",
      "b",
    ]);
    expect(queue.pendingCount).toBe(0);
    expect(queue.heartbeatContext().byteLength).toBe(0);
  });

  it("a quorum ack of an earlier position releases only the requests before it", () => {
    const queue = new ReadOnlyQueue();
    queue.recvAck(1, queue.add(request(5, "a")));
    queue.recvAck(1, queue.add(request(6, "b")));
    queue.recvAck(2, 1);
    expect(queue.maybeAdvance([1, 2, 3]).map((r) => r.index)).toEqual([5]);
    expect(queue.pendingCount).toBe(1);
  });

  it("ignores positions it never issued", () => {
    const queue = new ReadOnlyQueue();
    queue.recvAck(1, queue.add(request(5, "a")));
    queue.recvAck(2, 99);
    expect(queue.maybeAdvance([1, 2, 3])).toEqual([]);
  });
});
