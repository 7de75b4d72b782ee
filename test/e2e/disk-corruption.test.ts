// Damage on disk stops a member at startup: a member's data dir, written by a
// real `cairn serve`, gets one byte of one Raft log record flipped (through
// classic-level directly, as bit rot would leave it); the next `cairn serve`
// on it exits non-zero and says which record in which data dir is bad,
// instead of serving from a log it cannot trust. Then the README's recovery:
// remove the data dir, start the member again, and it catches up.
import { spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { ClassicLevel } from "classic-level";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOG_RANGE, logIndexOfKey } from "../../src/storage/keys.js";
import { TestCluster } from "./harness.js";
import { hashKvByMember } from "./member-reads.js";

const CLI = resolve(import.meta.dirname, "..", "..", "dist", "src", "cli", "main.js");
const EXIT_WAIT_MS = 20_000;

/** Runs `cairn serve` on the member's data dir and ports; resolves with its exit code and output. */
function serveUntilExit(
  cluster: TestCluster,
  name: string,
): Promise<{ code: number | null; output: string }> {
  const member = cluster.member(name);
  const child = spawn(
    process.execPath,
    [
      CLI,
      "serve",
      "--name",
      name,
      "--data-dir",
      member.dataDir,
      "--listen-client",
      member.client,
      "--listen-peer",
      member.peer,
      "--listen-metrics",
      member.metrics,
      "--initial-cluster",
      cluster.members.map((m) => `${m.name}=${m.peer}`).join(","),
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, CAIRN_LOG_FORMAT: "json" } },
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  return new Promise((done, fail) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail(new Error(`cairn serve did not exit within ${EXIT_WAIT_MS} ms:\n${output}`));
    }, EXIT_WAIT_MS);
    child.once("exit", (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
  });
}

describe("a flipped byte in a Raft log record on disk", { timeout: 60_000 }, () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    expect(existsSync(CLI), `${CLI} missing: npm run build`).toBe(true);
    cluster = await TestCluster.start({ size: 3 });
    await cluster.waitForLeader(10_000);
    const client = cluster.client();
    for (let i = 0; i < 20; i++) await client.put(`k${i}`, `value ${i}`);
    client.close();
    const leader = await cluster.waitForLeader(10_000);
    const commit = (await cluster.status(leader))?.commitIndex ?? 0;
    await cluster.waitForApplied(["n1", "n2", "n3"], commit, 15_000);
    await cluster.kill("n3", "SIGTERM");
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("stops `cairn serve` at startup, naming the record and the data dir", async () => {
    const dataDir = cluster.member("n3").dataDir;
    const db = new ClassicLevel<Uint8Array, Uint8Array>(dataDir, {
      keyEncoding: "view",
      valueEncoding: "view",
    });
    await db.open();
    const records = await db.iterator({ gte: LOG_RANGE.gte, lt: LOG_RANGE.lt }).all();
    expect(records.length).toBeGreaterThan(20);
    const [key, value] = records[Math.floor(records.length / 2)] as [Uint8Array, Uint8Array];
    const index = logIndexOfKey(key);
    const damaged = Uint8Array.from(value);
    const at = damaged.byteLength - 3; // inside the entry's payload, past the CRC header
    damaged[at] = (damaged[at] as number) ^ 0x10;
    await db.put(key, damaged);
    await db.close();

    const { code, output } = await serveUntilExit(cluster, "n3");
    expect(code, output).not.toBe(0);
    expect(output).toContain(`corrupt record log index ${index} in data dir ${dataDir}`);
    expect(output).toMatch(/CRC mismatch/);
    expect(output).toMatch(/resyncs from the leader|restore the data dir/);
  });

  it("recovers as the README says: data dir aside, start it again as an existing member", async () => {
    rmSync(cluster.member("n3").dataDir, { recursive: true, force: true });
    // Same name and addresses, --initial-cluster-state existing: it asks the
    // others who it is and catches up (the leader learns its log is gone).
    cluster.member("n3").joining = true;
    cluster.startMember("n3");
    const writer = cluster.client(["n1", "n2"]);
    const { revision } = await writer.put("after-repair", "yes");
    writer.close();
    const leader = await cluster.waitForLeader(10_000);
    const commit = (await cluster.status(leader))?.commitIndex ?? 0;
    await cluster.waitForApplied(["n1", "n2", "n3"], commit, 20_000);
    const repaired = cluster.client(["n3"]);
    expect((await repaired.get("k7", { serializable: true }))?.value.toString()).toBe("value 7");
    expect((await repaired.get("after-repair", { serializable: true }))?.value.toString()).toBe(
      "yes",
    );
    repaired.close();
    const hashes = await hashKvByMember(cluster, ["n1", "n2", "n3"], revision);
    expect(new Set(hashes.values()).size, JSON.stringify([...hashes])).toBe(1);
  });
});
