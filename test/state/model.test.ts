// Model-based test: the state machine against a deliberately naive model that
// keeps every version ever written in one flat list and answers every read by
// filtering it. The model never compacts, so agreement on every revision at or
// above the compact revision also proves compaction kept the right rows.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Applied, ResponseOp, TxnResult } from "../../src/state/apply-result.js";
import type { Command, Compare, PutOp, RequestOp, TxnRequest } from "../../src/state/command.js";
import { StateMachine } from "../../src/state/state-machine.js";
import { validateTxn } from "../../src/state/txn-validate.js";
import { assertNever } from "../../src/util/assert.js";
import { historyArb, KEYS, type OpDescriptor, toCommand } from "./arbitraries.js";
import { plain, query, rangeOk, text } from "./helpers.js";

interface Version {
  key: string;
  main: number;
  sub: number;
  tombstone: boolean;
  value: string;
  create: number;
  version: number;
  lease: number;
}

const plainOf = (v: Version) => ({
  key: v.key,
  value: v.value,
  create: v.create,
  mod: v.main,
  version: v.version,
  lease: v.lease,
});

const inRange = (key: string, start: string, end: string) =>
  end === "" ? key === start : end === "\0" ? key >= start : key >= start && key < end;

class Model {
  versions: Version[] = [];
  revision = 1;
  compactRevision = 0;
  /** etcd's compactMainRev: -1 until the first compaction. */
  firstRevision = -1;
  leases = new Map<number, { ttl: number; expiresAtMs: number }>();
  private pending = 0; // changes made by the command being applied

  private get latestRevision() {
    return this.pending > 0 ? this.revision + 1 : this.revision;
  }

  live(key: string, rev = this.latestRevision): Version | undefined {
    const newest = this.versions.filter((v) => v.key === key && v.main <= rev).at(-1);
    return newest === undefined || newest.tombstone ? undefined : newest;
  }

  range(start: string, end: string, rev = this.latestRevision): Version[] {
    const keys = [...new Set(this.versions.map((v) => v.key))].sort();
    return keys.filter((k) => inRange(k, start, end)).flatMap((k) => this.live(k, rev) ?? []);
  }

  private write(key: string, fields: Omit<Version, "key" | "main" | "sub">): void {
    this.versions.push({ key, main: this.revision + 1, sub: this.pending++, ...fields });
  }

  put(op: PutOp) {
    const key = text(op.key);
    const prev = this.live(key);
    const value = op.ignoreValue && prev ? prev.value : text(op.value);
    const lease = op.ignoreLease && prev ? prev.lease : op.lease;
    this.write(key, {
      tombstone: false,
      value,
      lease,
      create: prev ? prev.create : this.revision + 1,
      version: prev ? prev.version + 1 : 1,
    });
    return { revision: this.revision + 1, prevKv: op.prevKv && prev ? plainOf(prev) : null };
  }

  deleteRange(start: string, end: string) {
    const deleted = this.range(start, end);
    for (const prev of deleted) {
      this.write(prev.key, { tombstone: true, value: "", lease: 0, create: 0, version: 0 });
    }
    return deleted;
  }

  /** Ends a command: the revision moves only if something changed. */
  commit(): number {
    if (this.pending > 0) this.revision++;
    this.pending = 0;
    return this.revision;
  }

  putError(op: PutOp): string | null {
    if ((op.ignoreValue || op.ignoreLease) && !this.live(text(op.key))) return "key-not-found";
    if (!op.ignoreLease && op.lease !== 0 && !this.leases.has(op.lease)) return "lease-not-found";
    return null;
  }

  holds(c: Compare): boolean {
    const kvs = this.range(
      text(c.key),
      c.rangeEnd.length === 1 && c.rangeEnd[0] === 0 ? "\0" : text(c.rangeEnd),
    );
    const check = (v: Version | undefined) => {
      const field = {
        value: v ? Buffer.compare(Buffer.from(v.value, "latin1"), Buffer.from(c.value)) : 0,
        version: (v?.version ?? 0) - c.operand,
        create: (v?.create ?? 0) - c.operand,
        mod: (v?.main ?? 0) - c.operand,
        lease: (v?.lease ?? 0) - c.operand,
      }[c.target];
      return { equal: field === 0, "not-equal": field !== 0, greater: field > 0, less: field < 0 }[
        c.result
      ];
    };
    if (kvs.length === 0) return c.target !== "value" && check(undefined);
    return kvs.every(check);
  }
}

const endOf = (rangeEnd: Uint8Array) =>
  rangeEnd.length === 1 && rangeEnd[0] === 0 ? "\0" : text(rangeEnd);

/** The branch each txn (nested ones included) takes, decided before any write, as etcd does. */
function branches(model: Model, request: TxnRequest): { ok: boolean; ops: RequestOp[] }[] {
  const ok = request.compare.every((c) => model.holds(c));
  const ops = [...(ok ? request.success : request.failure)];
  return [{ ok, ops }, ...ops.flatMap((op) => (op.kind === "txn" ? branches(model, op) : []))];
}

function modelTxn(model: Model, request: TxnRequest): unknown {
  const invalid = validateTxn(request);
  if (invalid !== null) return { error: invalid };
  const path = branches(model, request);
  let cursor = 0;
  const firstError = (): string | null => {
    const branch = path[cursor++];
    if (!branch) throw new Error("path exhausted");
    let found: string | null = null;
    for (const op of branch.ops) {
      const error =
        op.kind === "put" ? model.putError(op) : op.kind === "txn" ? firstError() : null;
      found ??= error;
    }
    return found;
  };
  const error = firstError();
  if (error !== null) return { error };
  cursor = 0;
  const run = (): unknown => {
    const branch = path[cursor++];
    if (!branch) throw new Error("path exhausted");
    const responses = branch.ops.map((op): unknown => {
      switch (op.kind) {
        case "put":
          return model.put(op).prevKv;
        case "delete-range":
          return model.deleteRange(text(op.key), endOf(op.rangeEnd)).length;
        case "range": {
          const all = model.range(text(op.key), endOf(op.rangeEnd));
          const kvs = op.limit > 0 ? all.slice(0, op.limit) : all;
          return { kvs: kvs.map(plainOf), count: all.length, more: kvs.length < all.length };
        }
        case "txn":
          return run();
        default:
          return assertNever(op, "request op");
      }
    });
    return { succeeded: branch.ok, responses };
  };
  const result = run();
  model.commit();
  return result;
}

function shapeResponse(response: ResponseOp): unknown {
  switch (response.kind) {
    case "put":
      return plain(response.ok.prevKv);
    case "delete-range":
      return response.ok.deleted;
    case "range":
      return { kvs: response.ok.kvs.map(plain), count: response.ok.count, more: response.ok.more };
    case "txn":
      return shapeTxn(response.ok);
  }
}

function shapeTxn(txn: TxnResult): unknown {
  return { succeeded: txn.succeeded, responses: txn.responses.map(shapeResponse) };
}

/** Applies one command to the model and returns what the state machine must have answered. */
function expected(model: Model, command: Command, applied: Applied): unknown {
  switch (command.kind) {
    case "put": {
      const leaseMissing =
        !command.ignoreLease && command.lease !== 0 && !model.leases.has(command.lease);
      // A lone Put checks the lease before ignore_value/ignore_lease (etcd's order).
      const error = leaseMissing ? "lease-not-found" : model.putError(command);
      if (error !== null) return { kind: "error", code: error };
      const { prevKv } = model.put(command);
      return { kind: "put", ok: { revision: model.commit(), prevKv } };
    }
    case "delete-range": {
      const deleted = model.deleteRange(text(command.key), endOf(command.rangeEnd));
      const ok = {
        revision: model.commit(),
        deleted: deleted.length,
        prevKvs: deleted.map(plainOf),
      };
      return { kind: "delete-range", ok };
    }
    case "txn":
      return modelTxn(model, command);
    case "compact":
      if (command.revision <= model.firstRevision) return { kind: "error", code: "compacted" };
      if (command.revision > model.revision) return { kind: "error", code: "future-rev" };
      model.compactRevision = command.revision;
      model.firstRevision = command.revision;
      return {
        kind: "compact",
        ok: { revision: model.revision, compactRevision: command.revision },
      };
    case "lease-grant": {
      if (command.leaseId !== 0 && model.leases.has(command.leaseId)) {
        return { kind: "error", code: "lease-exists" };
      }
      const id = applied.result.kind === "lease-grant" ? applied.result.ok.id : -1;
      expect(id).toBeGreaterThan(0);
      expect(model.leases.has(id)).toBe(false);
      if (command.leaseId !== 0) expect(id).toBe(command.leaseId);
      model.leases.set(id, {
        ttl: command.ttlSeconds,
        expiresAtMs: command.at + command.ttlSeconds * 1000,
      });
      return {
        kind: "lease-grant",
        ok: { revision: model.revision, id, ttlSeconds: command.ttlSeconds },
      };
    }
    case "lease-revoke": {
      if (!model.leases.has(command.leaseId)) return { kind: "error", code: "lease-not-found" };
      const attached = model.range("", "\0").filter((v) => v.lease === command.leaseId);
      for (const v of attached) model.deleteRange(v.key, "");
      model.leases.delete(command.leaseId);
      return { kind: "lease-revoke", ok: { revision: model.commit(), deleted: attached.length } };
    }
    case "lease-renew": {
      const lease = model.leases.get(command.leaseId);
      if (!lease || lease.expiresAtMs <= command.at)
        return { kind: "error", code: "lease-not-found" };
      lease.expiresAtMs = command.at + lease.ttl * 1000;
      return {
        kind: "lease-renew",
        ok: { revision: model.revision, id: command.leaseId, ttlSeconds: lease.ttl },
      };
    }
    default:
      // Alarms: alarm-table.test.ts; platform commands: platform/*.test.ts.
      throw new Error(`the model generates no ${command.kind} commands`);
  }
}

/** The state machine's answer in the shape `expected` builds. */
function actual(command: Command, applied: Applied): unknown {
  const result = applied.result;
  if (command.kind === "txn") {
    return result.kind === "txn"
      ? shapeTxn(result.ok)
      : { error: result.kind === "error" && result.code };
  }
  if (result.kind === "put")
    return { kind: "put", ok: { ...result.ok, prevKv: plain(result.ok.prevKv) } };
  if (result.kind === "delete-range") {
    return { kind: "delete-range", ok: { ...result.ok, prevKvs: result.ok.prevKvs.map(plain) } };
  }
  return result;
}

const all = (sm: StateMachine, revision = 0) =>
  rangeOk(sm.range(query("", "\0", { revision }))).kvs.map(plain);

function checkCurrent(sm: StateMachine, model: Model): void {
  expect(sm.kv.revision).toBe(model.revision);
  expect(sm.kv.compactRevision).toBe(model.compactRevision);
  expect(all(sm)).toEqual(model.range("", "\0").map(plainOf));
  expect(sm.leases.leases()).toEqual([...model.leases.keys()].sort((a, b) => a - b));
  for (const [id, lease] of model.leases) {
    expect(sm.leases.get(id)?.expiresAtMs).toBe(lease.expiresAtMs);
    const keys = model
      .range("", "\0")
      .filter((v) => v.lease === id)
      .map((v) => v.key);
    expect(sm.leases.attachedKeys(id)).toEqual(keys);
  }
}

/** Every readable revision, the rows compaction kept, and the replayable events. */
function checkHistory(sm: StateMachine, model: Model): void {
  const c = model.compactRevision;
  for (let rev = Math.max(1, c); rev <= model.revision; rev++) {
    expect(all(sm, rev), `range at ${rev}`).toEqual(model.range("", "\0", rev).map(plainOf));
  }
  if (c > 1) expect(sm.range(query("a", "", { revision: c - 1 })).kind).toBe("error");
  expect(sm.range(query("a", "", { revision: model.revision + 1 })).kind).toBe("error");
  const kept = model.versions.filter((v) => {
    if (v.main > c) return true;
    const newest = model.versions.filter((w) => w.key === v.key && w.main <= c).at(-1);
    return newest === v && !v.tombstone;
  });
  const rev = (v: { key: string; main: number; sub: number }) => `${v.key}@${v.main}.${v.sub}`;
  expect(
    sm.kv.history.map((v) => rev({ key: v.key, main: v.kv.modRevision, sub: v.sub }) as string),
  ).toEqual(kept.map((v) => rev(v) as string));
  const events = sm.eventsSince({
    fromRevision: c + 1,
    key: new Uint8Array([0]),
    rangeEnd: new Uint8Array([0]),
    limit: 10_000,
  });
  if (events.kind !== "events") throw new Error("history unexpectedly compacted");
  const modelEvents = model.versions
    .filter((v) => v.main > c)
    .map((v) => {
      const before = model.versions
        .filter((w) => w.key === v.key && (w.main < v.main || (w.main === v.main && w.sub < v.sub)))
        .at(-1);
      return {
        type: v.tombstone ? "delete" : "put",
        kv: v.tombstone
          ? { key: v.key, value: "", create: 0, mod: v.main, version: 0, lease: 0 }
          : plainOf(v),
        prev: before === undefined || before.tombstone ? null : plainOf(before),
      };
    });
  expect(
    events.events.map((e) => ({ type: e.type, kv: plain(e.kv), prev: plain(e.prevKv) })),
  ).toEqual(modelEvents);
}

function runScenario(ops: readonly OpDescriptor[]): void {
  const sm = new StateMachine();
  const model = new Model();
  let nowMs = 1_000_000;
  let id = 1;
  ops.forEach((op, step) => {
    if (op.kind === "tick") {
      nowMs += op.ms;
      return;
    }
    const context = { revision: model.revision, compactRevision: model.compactRevision, nowMs };
    const command = toCommand(op, context, id++);
    if (command === null) return;
    const applied = sm.apply(command);
    expect(actual(command, applied), `step ${step}: ${command.kind}`).toEqual(
      expected(model, command, applied),
    );
    checkCurrent(sm, model);
    if (step % 10 === 9) checkHistory(sm, model);
  });
  checkHistory(sm, model);
}

describe("model-based: state machine vs a flat list of every version", () => {
  it("agrees on every result, every revision, compaction, events and leases", () => {
    fc.assert(fc.property(historyArb(60), runScenario), {
      numRuns: 250,
    });
  });

  it("covers the interesting cases (sanity of the generator)", () => {
    const sample = fc.sample(historyArb(60), { numRuns: 50, seed: 7 }).flat();
    const kinds = new Set(sample.map((op) => op.kind));
    expect([...kinds].sort()).toEqual([
      "compact",
      "grant",
      "renew",
      "request",
      "revoke",
      "tick",
      "txn",
    ]);
    expect(KEYS.length).toBeGreaterThan(3);
  });
});
