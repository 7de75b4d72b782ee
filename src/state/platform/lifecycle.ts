// The resource lifecycle as an explicit state machine:
//
//   PROVISIONING ──start──▶ RUNNING ◀──start── STOPPED ──delete──▶ DELETED
//                             │  ▲ restart       ▲
//                             └──┴──────stop─────┘
//   any of PROVISIONING, RUNNING, STOPPED ──fail──▶ ERROR ──start/stop/delete──▶ …
//
// "start" on a PROVISIONING resource is the automation reporting it is up.
// DELETED is final. Anything not in the table is refused, naming the status.
import { RESOURCE_STATUSES, type ResourceStatus } from "./resource-types.js";

export const LIFECYCLE_ACTIONS = ["start", "stop", "restart", "delete", "fail"] as const;
export type LifecycleAction = (typeof LIFECYCLE_ACTIONS)[number];

export const TRANSITIONS: Readonly<
  Record<ResourceStatus, Readonly<Partial<Record<LifecycleAction, ResourceStatus>>>>
> = {
  PROVISIONING: { start: "RUNNING", fail: "ERROR" },
  RUNNING: { stop: "STOPPED", restart: "RUNNING", fail: "ERROR" },
  STOPPED: { start: "RUNNING", delete: "DELETED", fail: "ERROR" },
  ERROR: { start: "RUNNING", stop: "STOPPED", delete: "DELETED" },
  DELETED: {},
};

export type Transition =
  | { readonly ok: true; readonly to: ResourceStatus }
  | { readonly ok: false; readonly message: string };

export function isLifecycleAction(value: string): value is LifecycleAction {
  return (LIFECYCLE_ACTIONS as readonly string[]).includes(value);
}

/** The statuses `action` is allowed from, in lifecycle order (for messages). */
export function allowedFrom(action: LifecycleAction): ResourceStatus[] {
  return RESOURCE_STATUSES.filter((status) => TRANSITIONS[status][action] !== undefined);
}

export function transition(
  resourceId: string,
  from: ResourceStatus,
  action: LifecycleAction,
): Transition {
  const to = TRANSITIONS[from][action];
  if (to !== undefined) return { ok: true, to };
  const allowed = allowedFrom(action).join(", ");
  return {
    ok: false,
    message: `cannot ${action} resource ${resourceId}: it is ${from}; ${action} is allowed from ${allowed}`,
  };
}
