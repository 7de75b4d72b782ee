// Fault windows from the nemesis log (nemesis.jsonl): each start is paired
// with the next stop of the same fault; a fault never stopped lasts to the
// end of the run, and a stray stop is ignored (it has nothing to close).
//
// Public API:
//   interface NemesisEvent { time: number; kind: "start" | "stop"; fault: string; detail?: unknown }
//   interface FaultWindow { fault: string; start: number; end: number; detail?: unknown }
//   function faultWindows(events: readonly NemesisEvent[], runEndMs: number): FaultWindow[]

import { assertNever } from "../../src/util/assert.js";

export interface NemesisEvent {
  /** Milliseconds since the run started, on the same clock as the history. */
  readonly time: number;
  readonly kind: "start" | "stop";
  /** e.g. "partition-majority", "kill", "pause-leader". */
  readonly fault: string;
  readonly detail?: unknown;
}

export interface FaultWindow {
  readonly fault: string;
  readonly start: number;
  readonly end: number;
  readonly detail?: unknown;
}

export function faultWindows(events: readonly NemesisEvent[], runEndMs: number): FaultWindow[] {
  const open = new Map<string, NemesisEvent[]>();
  const windows: FaultWindow[] = [];
  const ordered = [...events].sort((a, b) => a.time - b.time);
  for (const event of ordered) {
    const stack = open.get(event.fault) ?? [];
    switch (event.kind) {
      case "start":
        stack.push(event);
        open.set(event.fault, stack);
        break;
      case "stop": {
        // Overlapping starts of one fault close first-in, first-out.
        const started = stack.shift();
        if (started !== undefined) windows.push(windowOf(started, event.time));
        break;
      }
      default:
        assertNever(event.kind, "nemesis event kind");
    }
  }
  for (const stack of open.values()) {
    for (const started of stack) windows.push(windowOf(started, Math.max(runEndMs, started.time)));
  }
  return windows.sort((a, b) => a.start - b.start);
}

function windowOf(started: NemesisEvent, end: number): FaultWindow {
  return {
    fault: started.fault,
    start: started.time,
    end,
    ...(started.detail !== undefined ? { detail: started.detail } : {}),
  };
}
