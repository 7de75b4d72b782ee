// The resource lifecycle as a transition table: every (status, action) pair
// is either the documented transition or refused with a message naming the
// current status, both as a pure function and through apply.
import { describe, expect, it } from "vitest";
import {
  LIFECYCLE_ACTIONS,
  type LifecycleAction,
  TRANSITIONS,
  transition,
} from "../../../src/state/platform/lifecycle.js";
import {
  RESOURCE_STATUSES,
  type ResourceStatus,
} from "../../../src/state/platform/resource-types.js";
import { cluster, create, lifecycle, ok, refused } from "./helpers.js";

/** The documented diagram, written out independently of TRANSITIONS. */
const EXPECTED: Record<string, ResourceStatus> = {
  "PROVISIONING start": "RUNNING",
  "PROVISIONING fail": "ERROR",
  "RUNNING stop": "STOPPED",
  "RUNNING restart": "RUNNING",
  "RUNNING fail": "ERROR",
  "STOPPED start": "RUNNING",
  "STOPPED delete": "DELETED",
  "STOPPED fail": "ERROR",
  "ERROR start": "RUNNING",
  "ERROR stop": "STOPPED",
  "ERROR delete": "DELETED",
};

const PAIRS = RESOURCE_STATUSES.flatMap((status) =>
  LIFECYCLE_ACTIONS.map((action) => [status, action] as [ResourceStatus, LifecycleAction]),
);

/** Actions that walk a fresh resource to each status. */
const PATH_TO: Record<ResourceStatus, LifecycleAction[]> = {
  PROVISIONING: [],
  RUNNING: ["start"],
  STOPPED: ["start", "stop"],
  ERROR: ["fail"],
  DELETED: ["fail", "delete"],
};

describe("lifecycle table", () => {
  it("allows exactly the documented transitions", () => {
    const allowed = PAIRS.filter(([s, a]) => TRANSITIONS[s][a] !== undefined).map(
      ([s, a]) => `${s} ${a}`,
    );
    expect(allowed.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(PAIRS)("%s + %s", (status, action) => {
    const step = transition("srv-1", status, action);
    const expected = EXPECTED[`${status} ${action}`];
    if (expected !== undefined) {
      expect(step).toEqual({ ok: true, to: expected });
      return;
    }
    expect(step.ok).toBe(false);
    if (!step.ok)
      expect(step.message).toContain(`cannot ${action} resource srv-1: it is ${status}`);
  });
});

describe("lifecycle through apply", () => {
  it.each(PAIRS)("from %s, %s is applied or refused naming the status", (status, action) => {
    const { sm, apply } = cluster();
    const { resource } = ok(apply(create("ops")), "resource-create");
    for (const step of PATH_TO[status])
      ok(apply(lifecycle("ops", resource.id, step)), "resource-lifecycle");
    expect(sm.platform.resources.get(resource.id)?.status).toBe(status);
    const revision = sm.kv.revision;
    const applied = apply(lifecycle("ops", resource.id, action));
    const expected = EXPECTED[`${status} ${action}`];
    if (expected === undefined) {
      expect(refused(applied, "failed-precondition")).toContain(`it is ${status}`);
      expect(sm.kv.revision).toBe(revision);
      expect(sm.platform.resources.get(resource.id)?.status).toBe(status);
      return;
    }
    const done = ok(applied, "resource-lifecycle");
    expect(done.resource.status).toBe(expected);
    expect(done.resource.version).toBe(PATH_TO[status].length + 2);
    expect(done.revision).toBe(revision + 1);
    expect(done.resource.statusMessage).toBe(action === "fail" ? "disk failed" : "");
  });

  it("says where an action is allowed from", () => {
    const { apply } = cluster();
    const { resource } = ok(apply(create("ops")), "resource-create");
    expect(refused(apply(lifecycle("ops", resource.id, "delete")), "failed-precondition")).toBe(
      `cannot delete resource ${resource.id}: it is PROVISIONING; delete is allowed from STOPPED, ERROR`,
    );
  });
});
