// Regression: members were given ports one at a time, so a port freed for one
// member could be handed out again for the next (CI saw a member fail with
// EADDRINUSE on another member's peer port). freePorts holds a whole batch.
import { describe, expect, it } from "vitest";
import { freePorts } from "../../cluster/ports.js";

describe("freePorts", () => {
  it("returns distinct, usable loopback ports", async () => {
    const ports = await freePorts(60);
    expect(ports).toHaveLength(60);
    expect(new Set(ports).size).toBe(60);
    for (const port of ports) expect(port).toBeGreaterThan(0);
  });
});
