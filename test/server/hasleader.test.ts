import { Metadata } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { requireLeaderIfAsked } from "../../src/server/services.js";

describe("hasleader metadata", () => {
  it("fails fast with etcd's no-leader error only when the client asks and no leader is known", () => {
    const asking = new Metadata();
    asking.set("hasleader", "true");
    expect(() => requireLeaderIfAsked(asking, () => false)).toThrow("etcdserver: no leader");
    expect(() => requireLeaderIfAsked(asking, () => true)).not.toThrow();
    expect(() => requireLeaderIfAsked(new Metadata(), () => false)).not.toThrow();
  });
});
