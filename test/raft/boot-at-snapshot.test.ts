// A node whose storage starts at a snapshot point (what `cairn snapshot
// restore` writes, and what RaftNode.start builds from the stored snapshot
// meta): its log begins right after the point, which counts as committed and
// applied, so it elects itself, appends after the point, and accepts a
// leader's append anchored on the point's index and term.
import { describe, expect, it } from "vitest";
import { MemoryStorage, RawNode, type Ready } from "../../src/raft/index.js";
import { fixedRand } from "../sim/rand.js";
import { msg } from "./harness.js";
import { entriesWithTerms } from "./helpers.js";

const POINT = { index: 1, term: 1 };

function nodeAtPoint(id: number, voters: number[]) {
  const storage = new MemoryStorage();
  storage.applySnapshot({
    meta: { ...POINT, confState: { voters, learners: [] } },
    data: new Uint8Array(0),
  });
  storage.setHardState({ term: POINT.term, vote: 0, commit: POINT.index });
  const raw = new RawNode({
    id,
    electionTicks: 10,
    heartbeatTicks: 1,
    storage,
    applied: POINT.index,
    maxBytesPerMessage: 1024 * 1024,
    maxInflightMessages: 256,
    preVote: true,
    checkQuorum: true,
    rand: fixedRand(0),
  });
  const handle = (): Ready => {
    const rd = raw.ready();
    storage.append(rd.entries);
    if (rd.hardState !== null) storage.setHardState(rd.hardState);
    raw.advance(rd);
    return rd;
  };
  return { storage, raw, handle };
}

describe("booting at a snapshot point", () => {
  it("counts the point as committed and applied, with nothing to apply", () => {
    const { storage, raw } = nodeAtPoint(1, [1, 2, 3]);
    expect(storage.firstIndex()).toBe(2);
    expect(raw.status()).toMatchObject({ commit: 1, applied: 1, term: 1 });
    expect(raw.hasReady()).toBe(false);
  });

  it("a lone voter elects itself and appends its no-op right after the point", () => {
    const { raw, handle } = nodeAtPoint(1, [1]);
    raw.campaign();
    const readies: Ready[] = [];
    while (raw.hasReady()) readies.push(handle());
    const appended = readies.flatMap((rd) => rd.entries.map((e) => `${e.index}/${e.term}`));
    expect(appended).toEqual(["2/2"]);
    expect(readies.flatMap((rd) => rd.committedEntries.map((e) => e.index))).toEqual([2]);
    expect(raw.status()).toMatchObject({ role: "leader", term: 2, commit: 2, applied: 2 });
  });

  it("a follower accepts an append anchored on the point", () => {
    const { raw, handle } = nodeAtPoint(2, [1, 2, 3]);
    raw.step(
      msg("MsgApp", 1, 2, 2, {
        index: POINT.index,
        logTerm: POINT.term,
        entries: entriesWithTerms([2, 2], 2),
        commit: 3,
      }),
    );
    const rd = handle();
    expect(rd.entries.map((e) => e.index)).toEqual([2, 3]);
    expect(rd.messages.map((m) => [m.type, m.reject, m.index])).toEqual([["MsgAppResp", false, 3]]);
    handle();
    expect(raw.status()).toMatchObject({ commit: 3, applied: 3 });
  });
});
