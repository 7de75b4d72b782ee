import { describe, expect, it } from "vitest";
import { ConfigError, parseAddress, parseServeArgs } from "../../src/server/config.js";

describe("cairn serve flags", () => {
  it("accepts host:port and etcd-style URLs", () => {
    expect(parseAddress("listen-peer", "127.0.0.1:2380")).toBe("127.0.0.1:2380");
    expect(parseAddress("listen-peer", "http://127.0.0.1:2380")).toBe("127.0.0.1:2380");
    expect(parseAddress("listen-peer", "https://node-1.example:2380/")).toBe("node-1.example:2380");
    expect(() => parseAddress("listen-peer", "127.0.0.1")).toThrow(
      /--listen-peer: expected host:port/,
    );
    expect(() => parseAddress("listen-peer", "127.0.0.1:99999")).toThrow(ConfigError);
  });

  it("reads every flag from CAIRN_* env vars, flags win", () => {
    const env = {
      CAIRN_NAME: "n2",
      CAIRN_SNAPSHOT_COUNT: "500",
      CAIRN_INITIAL_CLUSTER: "n1=a:1,n2=b:2",
    };
    const fromEnv = parseServeArgs([], env);
    expect(fromEnv).toMatchObject({
      name: "n2",
      snapshotCount: 500,
      heartbeatIntervalMs: 100,
      electionTimeoutMs: 1000,
    });
    expect(fromEnv.initialCluster).toEqual([
      { name: "n1", peerAddress: "a:1" },
      { name: "n2", peerAddress: "b:2" },
    ]);
    expect(parseServeArgs(["--snapshot-count", "7"], env).snapshotCount).toBe(7);
  });

  it("advertises http://<listen-client> unless --advertise-client-urls says otherwise", () => {
    const base = ["--name", "n1", "--listen-client", "0.0.0.0:2379"];
    expect(parseServeArgs(base, {}).advertiseClientUrls).toEqual(["http://0.0.0.0:2379"]);
    expect(
      parseServeArgs([...base, "--advertise-client-urls", "http://10.0.0.1:2379,10.0.0.2:2379"], {})
        .advertiseClientUrls,
    ).toEqual(["http://10.0.0.1:2379", "http://10.0.0.2:2379"]);
    expect(() => parseServeArgs([...base, "--advertise-client-urls", "nope"], {})).toThrow(
      /--advertise-client-urls/,
    );
  });

  it("rejects bad input with a message naming the flag and what is allowed", () => {
    expect(() => parseServeArgs([], {})).toThrow(/--name is required/);
    expect(() => parseServeArgs(["--name", "n1", "--initial-cluster", "n2=a:1"], {})).toThrow(
      /does not list this member "n1"/,
    );
    expect(() =>
      parseServeArgs(["--name", "n1", "--initial-cluster", "n1=a:1,n1=b:2"], {}),
    ).toThrow(/listed twice/);
    expect(() => parseServeArgs(["--name", "n1", "--snapshot-count", "0"], {})).toThrow(
      /--snapshot-count must be an integer in 1\.\./,
    );
    expect(() =>
      parseServeArgs(
        ["--name", "n1", "--heartbeat-interval", "100", "--election-timeout", "200"],
        {},
      ),
    ).toThrow(/at least 5 ×/);
    expect(() => parseServeArgs(["--name", "n1", "--bogus"], {})).toThrow(ConfigError);
  });

  it("--corrupt-check-interval: 60 s by default, ms or a duration, 0 = off, env too", () => {
    const base = ["--name", "n1"];
    expect(parseServeArgs(base, {}).corruptCheckIntervalMs).toBe(60_000);
    expect(
      parseServeArgs([...base, "--corrupt-check-interval", "1500"], {}).corruptCheckIntervalMs,
    ).toBe(1500);
    expect(
      parseServeArgs([...base, "--corrupt-check-interval", "30s"], {}).corruptCheckIntervalMs,
    ).toBe(30_000);
    expect(
      parseServeArgs([...base, "--corrupt-check-interval", "5m"], {}).corruptCheckIntervalMs,
    ).toBe(300_000);
    expect(
      parseServeArgs([...base, "--corrupt-check-interval", "250ms"], {}).corruptCheckIntervalMs,
    ).toBe(250);
    expect(
      parseServeArgs([...base, "--corrupt-check-interval", "0"], {}).corruptCheckIntervalMs,
    ).toBe(0);
    expect(
      parseServeArgs(base, { CAIRN_CORRUPT_CHECK_INTERVAL: "2s" }).corruptCheckIntervalMs,
    ).toBe(2000);
    for (const bad of ["1", "-5s", "soon", "8d", "9h9m"]) {
      expect(() => parseServeArgs([...base, `--corrupt-check-interval=${bad}`], {})).toThrow(
        /--corrupt-check-interval must be 0 \(off\) or 100 ms\.\.7 days/,
      );
    }
  });
});
