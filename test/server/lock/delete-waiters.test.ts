// Server-side waits on key deletions: woken by a delete of any registered key
// (never by a put or another key's delete), removed on wake or abort, bounded.
import { describe, expect, it } from "vitest";
import { CairnError } from "../../../src/server/errors.js";
import { DELETE_WAITERS_MAX, DeleteWaiters } from "../../../src/server/lock/delete-waiters.js";
import type { WatchEvent } from "../../../src/state/index.js";
import { bytes, settle } from "./fake-member.js";

function event(type: "put" | "delete", key: string): WatchEvent {
  const kv = {
    key: bytes(key),
    createRevision: type === "put" ? 3 : 0,
    modRevision: 3,
    version: type === "put" ? 1 : 0,
    value: new Uint8Array(0),
    lease: 0,
  };
  return { type, kv, prevKv: null };
}

function tracked(promise: Promise<void>): { state: () => string } {
  let state = "pending";
  promise.then(
    () => {
      state = "woken";
    },
    (error: unknown) => {
      state = `rejected: ${(error as Error).message}`;
    },
  );
  return { state: () => state };
}

describe("DeleteWaiters", () => {
  it("wakes on a delete of any of its keys, once, and forgets it", async () => {
    const waiters = new DeleteWaiters();
    const wait = tracked(
      waiters.waitForDelete([bytes("l/a"), bytes("l/me")], new AbortController().signal),
    );
    expect(waiters.size).toBe(1);
    waiters.onApplied([event("put", "l/a"), event("delete", "l/other")]);
    await settle();
    expect(wait.state()).toBe("pending");
    waiters.onApplied([event("delete", "l/me")]);
    await settle();
    expect(wait.state()).toBe("woken");
    expect(waiters.size).toBe(0);
    waiters.onApplied([event("delete", "l/a")]);
    expect(waiters.size).toBe(0);
  });

  it("wakes only the waiters of the deleted key", async () => {
    const waiters = new DeleteWaiters();
    const signal = new AbortController().signal;
    const second = tracked(waiters.waitForDelete([bytes("l/1")], signal));
    const third = tracked(waiters.waitForDelete([bytes("l/2")], signal));
    waiters.onApplied([event("delete", "l/1")]);
    await settle();
    expect([second.state(), third.state()]).toEqual(["woken", "pending"]);
    expect(waiters.size).toBe(1);
  });

  it("drops a waiter whose call is aborted, with the abort reason", async () => {
    const waiters = new DeleteWaiters();
    const controller = new AbortController();
    const wait = tracked(waiters.waitForDelete([bytes("k")], controller.signal));
    controller.abort(new Error("call cancelled"));
    await settle();
    expect(wait.state()).toBe("rejected: call cancelled");
    expect(waiters.size).toBe(0);
    const late = tracked(waiters.waitForDelete([bytes("k")], controller.signal));
    await settle();
    expect(late.state()).toBe("rejected: call cancelled");
    expect(waiters.size).toBe(0);
  });

  it(`refuses more than ${DELETE_WAITERS_MAX} waiters with "too many requests"`, async () => {
    const waiters = new DeleteWaiters();
    const signal = new AbortController().signal;
    for (let i = 0; i < DELETE_WAITERS_MAX; i++) {
      void waiters.waitForDelete([bytes(`k${i}`)], signal);
    }
    await expect(waiters.waitForDelete([bytes("one-more")], signal)).rejects.toBeInstanceOf(
      CairnError,
    );
    expect(waiters.size).toBe(DELETE_WAITERS_MAX);
  });
});
