// Follower progress: probe/replicate transitions, acknowledgements and rejections.

import { describe, expect, it } from "vitest";
import { Progress } from "../../src/raft/progress.js";

function progress(match: number, next: number, state: "probe" | "replicate" = "probe"): Progress {
  const pr = new Progress(match, next, 4);
  if (state === "replicate") {
    pr.becomeReplicate();
    pr.next = next;
  }
  return pr;
}

describe("Progress", () => {
  it("maybeUpdate raises match and next, and ignores stale acknowledgements", () => {
    const pr = progress(3, 5);
    expect(pr.maybeUpdate(2)).toBe(false);
    expect(pr.maybeUpdate(6)).toBe(true);
    expect(pr.match).toBe(6);
    expect(pr.next).toBe(7);
    expect(pr.maybeUpdate(4)).toBe(false);
    expect(pr.next).toBe(7);
  });

  it("probe: one message at a time, unpaused by an answer", () => {
    const pr = progress(0, 5);
    expect(pr.isPaused()).toBe(false);
    pr.sentEntries(2);
    expect(pr.isPaused()).toBe(true);
    expect(pr.next).toBe(5); // Probing does not advance next optimistically.
    pr.maybeUpdate(6);
    expect(pr.isPaused()).toBe(false);
  });

  it("replicate: streams optimistically until the inflight window is full", () => {
    const pr = progress(5, 6, "replicate");
    for (let k = 0; k < 4; k++) {
      expect(pr.isPaused()).toBe(false);
      pr.sentEntries(2);
    }
    expect(pr.next).toBe(14);
    expect(pr.isPaused()).toBe(true);
    pr.inflights.freeLE(7);
    pr.maybeUpdate(7);
    expect(pr.isPaused()).toBe(false);
  });

  it("probe rejection only counts for the latest probe and jumps to the hint", () => {
    const pr = progress(2, 10);
    expect(pr.maybeDecrTo(5, 3)).toBe(false); // Stale: we probed at 9.
    expect(pr.maybeDecrTo(9, 4)).toBe(true);
    expect(pr.next).toBe(5);
    expect(pr.maybeDecrTo(4, 0)).toBe(true);
    expect(pr.next).toBe(3); // Never below match + 1.
  });

  it("replicate rejection falls back to match + 1 unless stale", () => {
    const pr = progress(5, 9, "replicate");
    expect(pr.maybeDecrTo(4, 1)).toBe(false);
    expect(pr.maybeDecrTo(8, 1)).toBe(true);
    expect(pr.next).toBe(6);
  });

  it("becomeProbe and becomeReplicate restart from match + 1 with an empty window", () => {
    const pr = progress(5, 6, "replicate");
    pr.sentEntries(3);
    expect(pr.inflights.count).toBe(1);
    pr.becomeProbe();
    expect(pr.state).toBe("probe");
    expect(pr.next).toBe(6);
    expect(pr.inflights.count).toBe(0);
    pr.becomeReplicate();
    expect(pr.state).toBe("replicate");
    expect(pr.next).toBe(6);
  });

  it("canBumpCommit only when the follower could learn a higher commit", () => {
    const pr = progress(5, 6, "replicate");
    pr.sentCommitIndex(3);
    expect(pr.canBumpCommit(4)).toBe(true);
    expect(pr.canBumpCommit(3)).toBe(false);
    pr.sentCommitIndex(5);
    expect(pr.canBumpCommit(9)).toBe(false); // Already told it everything up to next - 1.
  });
});
