// A member whose disk fills up (simulated: DiskStore writes fail with LevelDB's
// ENOSPC error) stays up: new writes fail at once with a clear error, reads
// from memory keep working, and once writes succeed again the write that was
// caught by the full disk completes and the member carries on, losing nothing.
// Any other storage failure still stops the member.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { RaftNode } from "../../src/server/raft-node.js";
import type { DiskWriteFaults } from "../../src/storage/index.js";
import { freePort, startMembers } from "./in-process-members.js";

function levelError(message: string): Error {
  return Object.assign(new Error(message), { code: "LEVEL_IO_ERROR" });
}

class SwitchableDisk implements DiskWriteFaults {
  failure: Error | null = null;
  failedWrites = 0;
  beforeWrite(): Error | null {
    if (this.failure !== null) this.failedWrites++;
    return this.failure;
  }
}

const put = (key: string, value: string) => ({
  kind: "put" as const,
  key: Buffer.from(key),
  value: Buffer.from(value),
  lease: 0,
  prevKv: false,
  ignoreValue: false,
  ignoreLease: false,
});

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A one-member cluster in this process, on a real LevelDB, with switchable write faults. */
async function startMember(dir: string, port: number, disk: SwitchableDisk): Promise<RaftNode> {
  const [node] = await startMembers(
    dir,
    [1],
    () => ({ requestTimeoutMs: 20_000, diskFaults: disk }),
    [port],
  );
  if (node === undefined) throw new Error("no member started");
  await until(() => node.isLeader, "the member to lead");
  return node;
}

function value(node: RaftNode, key: string): string | undefined {
  const result = node.stateMachine.range({
    key: Buffer.from(key),
    rangeEnd: new Uint8Array(0),
    revision: 0,
    limit: 0,
    keysOnly: false,
    countOnly: false,
    sortOrder: "none",
    sortTarget: "key",
    minModRevision: 0,
    maxModRevision: 0,
    minCreateRevision: 0,
    maxCreateRevision: 0,
  });
  if (result.kind !== "range") return undefined;
  const kv = result.ok.kvs[0];
  return kv === undefined ? undefined : Buffer.from(kv.value).toString();
}

describe("a member whose disk is full", { timeout: 60_000 }, () => {
  it("refuses writes at once, serves reads, resumes when space returns, loses nothing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cairn-disk-full-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const port = await freePort();
    const disk = new SwitchableDisk();
    const node = await startMember(dir, port, disk);
    let stopped = false;
    cleanups.push(async () => {
      if (!stopped) await node.stop();
    });
    expect((await node.propose(put("before", "1"))).kind).toBe("put");

    disk.failure = levelError(`IO error: ${dir}/n1/000003.log: No space left on device`);
    // This write is caught by the full disk: it waits, neither lost nor failed.
    const caught = node.propose(put("caught", "2"));
    await until(() => node.diskProblem !== null, "the member to notice the full disk");
    expect(node.diskProblem).toBe(`no space left on device (data dir ${join(dir, "n1")})`);

    const refused = await node.propose(put("refused", "3")).catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: "NO_SPACE_ON_DEVICE",
      grpcStatus: GrpcStatus.RESOURCE_EXHAUSTED,
      message: `etcdserver: no space left on device (data dir ${join(dir, "n1")})`,
    });
    await expect(node.linearizableBarrier()).rejects.toMatchObject({
      grpcStatus: GrpcStatus.UNAVAILABLE,
      message: expect.stringMatching(/^etcdserver: no space left on device .*serializable reads/),
    });
    // Serializable reads come from memory.
    expect(value(node, "before")).toBe("1");
    // The loop keeps retrying (and reopening the store) while the disk is full.
    const failedSoFar = disk.failedWrites;
    await until(() => disk.failedWrites >= failedSoFar + 2, "retries while full");

    disk.failure = null;
    expect((await caught).kind).toBe("put");
    await until(() => node.diskProblem === null, "writes to resume");
    expect((await node.propose(put("after", "4"))).kind).toBe("put");
    await node.linearizableBarrier();
    expect([value(node, "caught"), value(node, "refused"), value(node, "after")]).toEqual([
      "2",
      undefined,
      "4",
    ]);

    // Everything acknowledged is on disk: a restarted member has it.
    await node.stop();
    stopped = true;
    const again = await startMember(dir, port, new SwitchableDisk());
    cleanups.push(() => again.stop());
    expect([value(again, "before"), value(again, "caught"), value(again, "after")]).toEqual([
      "1",
      "2",
      "4",
    ]);
  });

  it("stops the member on any other storage failure, as before", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cairn-disk-eio-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const exit = vi.spyOn(process, "exit").mockImplementation((() => undefined) as never);
    const exitCode = process.exitCode;
    cleanups.push(async () => {
      exit.mockRestore();
      process.exitCode = exitCode;
    });
    const disk = new SwitchableDisk();
    const node = await startMember(dir, await freePort(), disk);
    cleanups.push(() => node.stop());
    disk.failure = levelError(`IO error: ${dir}/n1/000003.log: Input/output error`);
    await expect(node.propose(put("k", "v"))).rejects.toMatchObject({ code: "STOPPED" });
    expect(process.exitCode).toBe(1);
    await expect(node.propose(put("k", "v"))).rejects.toMatchObject({ code: "STOPPED" });
  });
});
