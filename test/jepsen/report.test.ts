// report.html for a small run: the expected parts are there, user data is
// escaped, and nothing is loaded from outside the page.

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { combineResults } from "../../jepsen-lite/checker/combine.js";
import { checkLinearizable } from "../../jepsen-lite/checker/linearizable.js";
import { countOutcomes, pairHistory } from "../../jepsen-lite/history/pair.js";
import { faultWindows, type NemesisEvent } from "../../jepsen-lite/report/faults.js";
import { renderReport } from "../../jepsen-lite/report/render.js";
import { escapeHtml } from "../../jepsen-lite/report/svg.js";
import { writeReport } from "../../jepsen-lite/report/write.js";
import { historyOf } from "./checker-fixtures.js";

const EVIL = "<script>alert(1)</script>";

const staleRead = historyOf([
  { p: 1, f: "write", key: EVIL, in: EVIL, call: 0, ret: 100 },
  { p: 2, f: "write", key: EVIL, in: 2, call: 200, ret: 300 },
  { p: 3, f: "read", key: EVIL, out: EVIL, call: 1400, ret: 1500 },
  { p: 4, f: "write", key: "other", in: 5, call: 1000, ret: 2400, type: "info" },
  { p: 5, f: "read", key: "other", call: 2500, type: "pending" },
  { p: 6, f: "write", key: "other", in: 6, call: 2600, ret: 2700, type: "fail" },
]);

const nemesis: NemesisEvent[] = [
  { time: 150, kind: "start", fault: "partition-majority", detail: { cut: [EVIL] } },
  { time: 1200, kind: "stop", fault: "partition-majority" },
  { time: 2000, kind: "start", fault: "kill" },
];

function resultsFor(history = staleRead) {
  return combineResults(
    { linearizable: checkLinearizable(history) },
    countOutcomes(pairHistory(history)),
  );
}

describe("renderReport", () => {
  const html = renderReport(staleRead, nemesis, resultsFor(), { title: `run ${EVIL}` });

  it("is one self-contained HTML page", () => {
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    expect(html).toContain("</html>");
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\b(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/<link\b/);
  });

  it("escapes every piece of user data", () => {
    expect(html).not.toContain(EVIL);
    expect(html).toContain(escapeHtml(`run ${EVIL}`));
    expect(html).toContain("&lt;script&gt;");
  });

  it("draws the timeline, latency and throughput as inline SVG with fault windows", () => {
    for (const cls of ["timeline", "latency", "throughput", "counterexample"]) {
      expect(html).toContain(`<svg class="${cls}"`);
    }
    // The partition and the never-stopped kill, in each of the three time plots.
    expect(html.match(/<rect class="fault"/g)?.length).toBe(6);
    expect(html).toContain("partition-majority");
    expect(html).toMatch(/<rect class="op ok/);
    expect(html).toMatch(/<rect class="op info/);
    expect(html).toMatch(/<rect class="op fail/);
    expect(html).toMatch(/<rect class="op pending/);
  });

  it("links to the counterexample, whose ops are anchors", () => {
    expect(html).toContain('<span class="verdict valid-false">INVALID</span>');
    expect(html).toContain('href="#counterexample"');
    expect(html).toContain('<section id="counterexample">');
    const culprit = staleRead.find((op) => op.process === 3 && op.type === "invoke")?.index;
    expect(html).toContain(`<tr id="op-${culprit}" class="unlinearizable">`);
    expect(html).toContain(`href="#op-${culprit}"`);
    expect(html).toContain("cannot be linearized");
  });

  it("has no counterexample section for a valid run", () => {
    const valid = historyOf([{ p: 1, f: "write", in: 1, call: 0, ret: 5 }]);
    const page = renderReport(valid, [], resultsFor(valid));
    expect(page).toContain("valid-true");
    expect(page).not.toContain('id="counterexample"');
    expect(page).toContain('<svg class="timeline"');
  });

  it("renders an empty history", () => {
    const page = renderReport([], [], combineResults({}, { ok: 0, fail: 0, info: 0 }));
    expect(page).toContain("valid-unknown");
  });
});

describe("faultWindows", () => {
  it("pairs starts with stops per fault and runs open ones to the end", () => {
    const windows = faultWindows(
      [
        { time: 5, kind: "stop", fault: "pause" },
        { time: 10, kind: "start", fault: "pause", detail: "n1" },
        { time: 12, kind: "start", fault: "kill" },
        { time: 20, kind: "stop", fault: "pause" },
      ],
      100,
    );
    expect(windows).toEqual([
      { fault: "pause", start: 10, end: 20, detail: "n1" },
      { fault: "kill", start: 12, end: 100 },
    ]);
  });
});

describe("writeReport", () => {
  it("writes results.json and report.html", async () => {
    const dir = await mkdtemp(join(tmpdir(), "jepsen-report-"));
    try {
      const written = await writeReport(dir, staleRead, nemesis, resultsFor());
      const results = JSON.parse(await readFile(written.resultsPath, "utf8"));
      expect(results.valid).toBe(false);
      expect(results.counts).toEqual({ ok: 3, fail: 1, info: 2 });
      expect(await readFile(written.reportPath, "utf8")).toContain("<svg");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("renderReport bounds", () => {
  it("draws at most maxDrawnOps ops, always including the counterexample's", () => {
    const page = renderReport(staleRead, nemesis, resultsFor(), { maxDrawnOps: 1 });
    expect(page).toContain("Only the first 1 ops are drawn (of 6)");
    const timeline = page.slice(
      page.indexOf('<svg class="timeline"'),
      page.indexOf('<svg class="latency"'),
    );
    // The counterexample has three ops, the first of which is also the first op.
    expect(timeline.match(/<rect class="op /g)?.length).toBe(3);
  });
});

describe("renderReport without a counterexample", () => {
  it("links to the first failing checker's row", () => {
    const results = combineResults(
      { "lock fenced": { valid: false, violations: [{ description: "token went <back>" }] } },
      { ok: 1, fail: 0, info: 0 },
    );
    const page = renderReport([], [], results);
    expect(page).toContain('href="#checker-lock_fenced"');
    expect(page).toContain('<tr id="checker-lock_fenced">');
    expect(page).toContain("1 violations; first: token went &lt;back&gt;");
  });
});
