// The operation log: exactly one record per applied platform command, in
// apply order, written in the same apply (refusals recorded with their code);
// queries by target, actor, action and time; page tokens that stay exact while
// records are appended; catch-up from a sequence; retention by count and age
// applied inside apply and identical on every member.
import { describe, expect, it } from "vitest";
import type { Command } from "../../../src/state/command.js";
import { auditOf } from "../../../src/state/platform/context.js";
import type { OpLogListRequest } from "../../../src/state/platform/reads.js";
import { put } from "../helpers.js";
import {
  acquire,
  clock,
  cluster,
  command,
  create,
  leaseGrant,
  lifecycle,
  ok,
  refused,
  update,
} from "./helpers.js";

const everything: OpLogListRequest = {
  target: "",
  actor: "",
  action: "",
  fromMs: 0,
  toMs: 0,
  order: "asc",
  pageSize: 500,
  pageToken: "",
};

function records(sm: ReturnType<typeof cluster>["sm"], request: Partial<OpLogListRequest> = {}) {
  const page = sm.platform.listOpLog({ ...everything, ...request });
  if ("code" in page) throw new Error(page.message);
  return page;
}

describe("one record per command", () => {
  it("appends exactly one record per platform command, in order, in the same apply", () => {
    const { sm, apply } = cluster();
    apply(leaseGrant(1));
    apply(put("plain", "kv") as Command);
    const { resource } = ok(apply(create("ops")), "resource-create");
    const commands = [
      update("ops", resource.id, { name: "renamed" }, { expectedVersion: 1 }),
      update("ops", resource.id, { name: "stale" }, { expectedVersion: 1 }),
      lifecycle("vic", resource.id, "start"),
      lifecycle("ops", resource.id, "start"),
      acquire("ops", "deploy", 1),
      acquire("ops", "deploy", 1, false),
    ];
    for (const c of commands) {
      const sequence = sm.platform.oplog.lastSequence;
      const applied = apply(c);
      const appended = (applied.platform ?? []).filter((e) => e.table === "oplog");
      expect(appended).toHaveLength(1);
      expect(applied.writes.filter((w) => w.table === "oplog")).toHaveLength(1);
      expect(sm.platform.oplog.lastSequence).toBe(sequence + 1);
    }
    const all = records(sm).records;
    // 3 registrations + create + the six above; lease grants and KV puts are not platform commands.
    expect(all.map((r) => r.sequence)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(all.slice(4).map((r) => [r.action, r.outcome])).toEqual([
      ["resource.update", "ok"],
      ["resource.update", "aborted"],
      ["resource.start", "permission-denied"],
      ["resource.start", "ok"],
      ["lock.acquire", "acquired"],
      ["lock.try-acquire", "already-held"],
    ]);
    for (let i = 1; i < all.length; i++) {
      expect(all[i]?.revision).toBeGreaterThanOrEqual(all[i - 1]?.revision ?? 0);
    }
    expect(commands.map((c) => auditOf(c).action)).toEqual(all.slice(4).map((r) => r.action));
  });

  it("stamps a change with its revision and a refusal with the revision it was judged at", () => {
    const { sm, apply } = cluster();
    const before = sm.kv.revision;
    const refusal = apply(create("vic"));
    expect(sm.kv.revision).toBe(before);
    const record = sm.platform.oplog.get(sm.platform.oplog.lastSequence);
    expect(record).toMatchObject({
      revision: before,
      actor: "vic",
      outcome: "permission-denied",
      after: { error: refused(refusal, "permission-denied") },
    });
    const made = ok(apply(create("ops")), "resource-create");
    expect(sm.platform.oplog.get(sm.platform.oplog.lastSequence)?.revision).toBe(made.revision);
  });

  it("never lets time go backwards (a new leader's clock may lag)", () => {
    const { sm, apply } = cluster();
    apply(create("ops"));
    const last = sm.platform.oplog.get(sm.platform.oplog.lastSequence)?.atMs ?? 0;
    apply({ ...create("ops"), at: last - 5_000 });
    expect(sm.platform.oplog.get(sm.platform.oplog.lastSequence)?.atMs).toBe(last);
  });
});

describe("queries", () => {
  it("filters by target, actor, action and time range", () => {
    const { sm, apply } = cluster();
    const t0 = clock.at;
    const a = ok(apply(create("ops")), "resource-create").resource;
    clock.at += 1000;
    const b = ok(apply(create("root")), "resource-create").resource;
    clock.at += 1000;
    apply(lifecycle("ops", a.id, "start"));
    apply(lifecycle("root", b.id, "start"));
    const ids = (request: Partial<OpLogListRequest>) =>
      records(sm, request).records.map((r) => `${r.actor}:${r.action}:${r.target}`);
    expect(ids({ target: `resource/${a.id}` })).toEqual([
      `ops:resource.create:resource/${a.id}`,
      `ops:resource.start:resource/${a.id}`,
    ]);
    expect(ids({ actor: "root", action: "resource.start" })).toEqual([
      `root:resource.start:resource/${b.id}`,
    ]);
    expect(ids({ fromMs: t0 + 1000, toMs: t0 + 2000 })).toEqual([
      `root:resource.create:resource/${b.id}`,
    ]);
    expect(ids({ target: `resource/${a.id}`, order: "desc" })[0]).toBe(
      `ops:resource.start:resource/${a.id}`,
    );
    expect(ids({ actor: "nobody" })).toEqual([]);
  });

  it("pages exactly, in both directions, while records keep arriving", () => {
    const { sm, apply } = cluster();
    for (let i = 0; i < 10; i++) apply(create("ops"));
    for (const order of ["asc", "desc"] as const) {
      const seen: number[] = [];
      let pageToken = "";
      const total = sm.platform.oplog.size;
      do {
        const page = records(sm, { order, pageSize: 4, pageToken, action: "resource.create" });
        seen.push(...page.records.map((r) => r.sequence));
        pageToken = page.nextPageToken;
        apply(create("ops"));
      } while (pageToken !== "");
      expect(new Set(seen).size).toBe(seen.length);
      const sorted = [...seen].sort((x, y) => (order === "asc" ? x - y : y - x));
      expect(seen).toEqual(sorted);
      expect(seen.length).toBeGreaterThanOrEqual(total - 3);
    }
  });

  it("refuses a token minted for another query and bad bounds", () => {
    const { sm, apply } = cluster();
    for (let i = 0; i < 5; i++) apply(create("ops"));
    const first = records(sm, { pageSize: 2 });
    const other = sm.platform.listOpLog({
      ...everything,
      actor: "ops",
      pageToken: first.nextPageToken,
    });
    expect("code" in other && other.message).toBe(
      "page_token belongs to a different filter or sort; restart the listing",
    );
    const big = sm.platform.listOpLog({ ...everything, pageSize: 501 });
    expect("code" in big && big.message).toBe("page_size must be 1..500, got 501");
  });

  it("catches a watcher up from a sequence", () => {
    const { sm, apply } = cluster();
    apply(create("ops"));
    const since = sm.platform.opLogSince(3, 10);
    if ("code" in since) throw new Error(since.message);
    expect(since.map((r) => r.sequence)).toEqual([3, 4]);
  });
});

describe("retention", () => {
  const retention = (maxRecords: number, maxAgeMs: number) =>
    command("oplog-retention", "root", { maxRecords, maxAgeMs });

  it("drops the oldest records past the count limit, inside apply", () => {
    const { sm, apply } = cluster();
    ok(apply(retention(100, 86_400_000)), "oplog-retention");
    for (let i = 0; i < 150; i++) apply(create("ops"));
    expect(sm.platform.oplog.size).toBe(100);
    expect(sm.platform.oplog.firstSequence).toBe(sm.platform.oplog.lastSequence - 99);
    const gone = sm.platform.opLogSince(1, 10);
    expect("code" in gone && gone.message).toBe(
      `op-log sequence 1 was dropped by retention; the oldest kept is ${sm.platform.oplog.firstSequence}`,
    );
  });

  it("drops records older than the age limit by the command's clock", () => {
    const { sm, apply } = cluster();
    ok(apply(retention(1000, 60_000)), "oplog-retention");
    const kept = sm.platform.oplog.size;
    clock.at += 61_000;
    apply(create("ops"));
    expect(sm.platform.oplog.size).toBe(1);
    expect(kept).toBe(4);
  });

  it("is admin-only and bounded", () => {
    const { apply } = cluster();
    refused(apply({ ...retention(1000, 60_000), actor: "ops" }), "permission-denied");
    expect(refused(apply(retention(10, 60_000)), "invalid-argument")).toBe(
      "retention.max_records must be 100..10000000, got 10",
    );
    expect(refused(apply(retention(100, 10)), "invalid-argument")).toBe(
      "retention.max_age_ms must be 60000..315360000000, got 10",
    );
  });
});
