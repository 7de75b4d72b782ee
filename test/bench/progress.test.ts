// The progress line: a frame's layout, and the redraw timer that must not
// outlive its run.
import { afterEach, describe, expect, it, vi } from "vitest";
import { lineWidth, renderProgress, startProgress } from "../../bench/progress.js";

describe("renderProgress", () => {
  it("is exactly the width asked, with label, bar and elapsed/total seconds", () => {
    const frame = renderProgress("cairn put: 16 clients", 1500, 4000, 60);
    expect(frame).toHaveLength(60);
    expect(frame).toMatch(/^cairn put: 16 clients \[█+░+\] 1\.5\/4\.0 s$/);
  });

  it("fills the bar in proportion to the time elapsed", () => {
    const bar = (elapsedMs: number) => {
      const inside = /\[(.*)\]/.exec(renderProgress("x", elapsedMs, 4000, 50))?.[1] ?? "";
      return { filled: inside.split("█").length - 1, width: inside.length };
    };
    expect(bar(0).filled).toBe(0);
    const quarter = bar(1000);
    expect(quarter.filled).toBe(Math.round(quarter.width / 4));
    expect(bar(4000).filled).toBe(bar(4000).width);
  });

  it("keeps the bar full and the seconds counting when the run overruns", () => {
    const frame = renderProgress("x", 4600, 4000, 40);
    expect(frame).not.toContain("░");
    expect(frame.trimEnd()).toMatch(/ 4\.6\/4\.0 s$/);
  });

  it("cuts a label too long for the width, keeping the bar and the seconds", () => {
    const frame = renderProgress("e".repeat(200), 2000, 4000, 40);
    expect(frame).toHaveLength(40);
    expect(frame).toMatch(/^e+ \[█{5}░{5}\] 2\.0\/4\.0 s$/);
  });

  it("never throws, whatever the width", () => {
    for (const width of [-1, 0, 3, 10.5]) {
      expect(renderProgress("cairn put: 1 clients", 100, 4000, width)).toHaveLength(
        Math.max(0, Math.floor(width)),
      );
    }
  });
});

describe("lineWidth", () => {
  it("is one column short of the terminal, within 40..100, and 79 when the pty says 0", () => {
    expect(lineWidth(61)).toBe(60);
    expect(lineWidth(300)).toBe(100);
    expect(lineWidth(20)).toBe(40);
    expect(lineWidth(0)).toBe(79);
    expect(lineWidth(undefined)).toBe(79);
  });
});

function fakeStream(isTTY: boolean, columns = 61) {
  const writes: string[] = [];
  return { isTTY, columns, writes, write: (text: string) => writes.push(text) };
}

describe("startProgress", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("writes today's one line when stderr is not a terminal, and starts no timer", () => {
    vi.useFakeTimers();
    const stream = fakeStream(false);
    const progress = startProgress(
      "etcd get: 1 clients",
      { warmupMs: 1000, durationMs: 3000 },
      stream,
    );
    expect(vi.getTimerCount()).toBe(0);
    progress.stop();
    expect(stream.writes).toEqual(["etcd get: 1 clients for 3 s…\n"]);
  });

  it("redraws in place about four times a second, then clears the line and its timer", () => {
    vi.useFakeTimers();
    let nowMs = 0;
    const stream = fakeStream(true);
    const progress = startProgress(
      "cairn put: 16 clients",
      { warmupMs: 1000, durationMs: 3000 },
      stream,
      () => nowMs,
    );
    nowMs = 1000;
    vi.advanceTimersByTime(1000);
    expect(stream.writes).toHaveLength(5); // the first frame, then one per 250 ms
    for (const frame of stream.writes) {
      expect(frame.startsWith("\r")).toBe(true);
      expect(frame).toHaveLength(1 + 60); // one column short of the terminal
    }
    expect(stream.writes[4]).toContain("1.0/4.0 s");
    progress.stop();
    progress.stop();
    expect(vi.getTimerCount()).toBe(0);
    expect(stream.writes.at(-1)).toBe(`\r${" ".repeat(60)}\r`);
    expect(stream.writes).toHaveLength(6);
    vi.advanceTimersByTime(1000);
    expect(stream.writes).toHaveLength(6);
  });

  it("draws and clears a full-width line on a pty that reports 0 columns", () => {
    vi.useFakeTimers();
    const stream = fakeStream(true, 0);
    const progress = startProgress(
      "cairn put: 1 clients",
      { warmupMs: 0, durationMs: 1000 },
      stream,
    );
    progress.stop();
    expect(stream.writes[0]).toMatch(/^\rcairn put: 1 clients \[░+\] 0\.0\/1\.0 s *$/);
    expect(stream.writes[0]).toHaveLength(1 + 79);
    expect(stream.writes[1]).toBe(`\r${" ".repeat(79)}\r`);
  });
});
