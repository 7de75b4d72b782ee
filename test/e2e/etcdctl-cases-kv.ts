// etcdctl cases for the key-value commands (put, get, del, txn, watch,
// compaction). Each expectation is etcdctl 3.4's output as it prints it for
// a real etcd; the test file runs every case against real etcd too, which
// keeps the expectations honest. Keys start with "~" and a per-case prefix.
import { expect } from "vitest";
import { type CtlSession, eventually, sleep } from "./etcdctl-session.js";

export interface CtlCase {
  readonly name: string;
  /**
   * Set when cairn is known to fail this case for a reason outside its code:
   * it then runs as an expected failure against cairn (and still passes
   * against etcd), so a fix shows up as this test failing.
   */
  readonly cairnKnownFailure?: string;
  run(session: CtlSession): Promise<void>;
}

interface GetJson {
  header: { cluster_id: number; member_id: number; revision: number; raft_term: number };
  kvs?: {
    key: string;
    create_revision: number;
    mod_revision: number;
    version: number;
    value: string;
  }[];
  count?: number;
}

const b64 = (text: string): string => Buffer.from(text).toString("base64");

const putAndGet: CtlCase = {
  name: "put, put --prev-kv, get (prefix, from-key, limit, sort, keys-only, rev, json)",
  async run(s) {
    expect(await s.ok(["put", "~kv/a", "1"])).toBe("OK\n");
    const created = await s.revision();
    expect(await s.ok(["put", "--prev-kv", "~kv/a", "2"])).toBe("OK\n~kv/a\n1\n");
    expect(await s.ok(["put", "~kv/ab", "3"])).toBe("OK\n");
    expect(await s.ok(["put", "~kv/b", "4"])).toBe("OK\n");
    expect(await s.ok(["get", "~kv/a"])).toBe("~kv/a\n2\n");
    expect(await s.ok(["get", "~kv/missing"])).toBe("");
    expect(await s.ok(["get", "--prefix", "~kv/a"])).toBe("~kv/a\n2\n~kv/ab\n3\n");
    expect(await s.ok(["get", "~kv/a", "~kv/b"])).toBe("~kv/a\n2\n~kv/ab\n3\n");
    expect(await s.ok(["get", "--from-key", "~kv/ab", "--limit", "2"])).toBe(
      "~kv/ab\n3\n~kv/b\n4\n",
    );
    expect(await s.ok(["get", "--prefix", "~kv/", "--limit", "1"])).toBe("~kv/a\n2\n");
    expect(await s.ok(["get", "--prefix", "~kv/", "--sort-by=MODIFY", "--order=DESCEND"])).toBe(
      "~kv/b\n4\n~kv/ab\n3\n~kv/a\n2\n",
    );
    expect(await s.ok(["get", "--prefix", "~kv/", "--sort-by=CREATE", "--order=DESCEND"])).toBe(
      "~kv/b\n4\n~kv/ab\n3\n~kv/a\n2\n",
    );
    expect(await s.ok(["get", "--prefix", "~kv/", "--sort-by=VALUE", "--order=DESCEND"])).toBe(
      "~kv/b\n4\n~kv/ab\n3\n~kv/a\n2\n",
    );
    expect(await s.ok(["get", "--prefix", "~kv/", "--sort-by=KEY", "--order=DESCEND"])).toBe(
      "~kv/b\n4\n~kv/ab\n3\n~kv/a\n2\n",
    );
    const byVersion = ["get", "--prefix", "~kv/", "--sort-by=VERSION", "--order=DESCEND"];
    expect(await s.ok([...byVersion, "--limit", "1"])).toBe("~kv/a\n2\n");
    expect(await s.ok(["get", "--prefix", "--keys-only", "~kv/"])).toBe(
      "~kv/a\n\n~kv/ab\n\n~kv/b\n\n",
    );
    expect(await s.ok(["get", "--print-value-only", "~kv/a"])).toBe("2\n");
    expect(await s.ok(["get", "~kv/a", "--rev", String(created)])).toBe("~kv/a\n1\n");
    expect(await s.ok(["get", "~kv/a", "--rev", String(created - 1)])).toBe("");
    const json = JSON.parse(await s.ok(["get", "~kv/a", "-w", "json"])) as GetJson;
    expect(json.header.revision).toBeGreaterThanOrEqual(created + 3);
    expect(json.header.raft_term).toBeGreaterThan(0);
    expect(json.header.member_id).toBeGreaterThan(0);
    expect(json.header.cluster_id).toBeGreaterThan(0);
    expect(json.count).toBe(1);
    expect(json.kvs).toEqual([
      {
        key: b64("~kv/a"),
        create_revision: created,
        mod_revision: created + 1,
        version: 2,
        value: b64("2"),
      },
    ]);
  },
};

const serializable: CtlCase = {
  name: "get --consistency s on every member (followers catch up)",
  async run(s) {
    expect(await s.ok(["put", "~ser/k", "v1"])).toBe("OK\n");
    expect(await s.ok(["put", "~ser/k", "v2"])).toBe("OK\n");
    for (const endpoint of s.endpoints) {
      const out = await eventually(async () => {
        const text = await s.ctl.ok(endpoint, ["get", "~ser/k", "--consistency", "s"]);
        expect(text).toBe("~ser/k\nv2\n");
        return text;
      });
      expect(out).toBe("~ser/k\nv2\n");
    }
  },
};

const del: CtlCase = {
  name: "del, del --prefix --prev-kv, del of a missing key",
  async run(s) {
    for (const [key, value] of [
      ["~del/a", "1"],
      ["~del/b", "2"],
      ["~del/c", "3"],
    ] as const) {
      expect(await s.ok(["put", key, value])).toBe("OK\n");
    }
    expect(await s.ok(["del", "~del/a"])).toBe("1\n");
    expect(await s.ok(["del", "--prev-kv", "--prefix", "~del/"])).toBe("2\n~del/b\n2\n~del/c\n3\n");
    expect(await s.ok(["del", "~del/none"])).toBe("0\n");
    expect(await s.ok(["get", "--prefix", "~del/"])).toBe("");
  },
};

const errors: CtlCase = {
  name: "errors print etcd's messages (future revision, unknown lease)",
  async run(s) {
    const now = await s.revision();
    expect(await s.fails(["get", "~err/k", "--rev", String(now + 1000)])).toContain(
      "Error: etcdserver: mvcc: required revision is a future revision\n",
    );
    expect(await s.fails(["put", "--lease=1234abcd", "~err/k", "v"])).toContain(
      "Error: etcdserver: requested lease not found\n",
    );
  },
};

const PROMPTS = "compares:\nsuccess requests (get, put, del):\nfailure requests (get, put, del):\n";

const txn: CtlCase = {
  name: "txn -i with value/version/create/mod compares, both branches",
  async run(s) {
    expect(await s.ok(["put", "~txn/k", "x"])).toBe("OK\n");
    const created = await s.revision();
    const swap = 'value("~txn/k") = "x"\n\nput ~txn/k y\nget ~txn/k\n\nput ~txn/other z\n\n';
    expect(await s.ok(["txn", "-i"], { stdin: swap })).toBe(
      `${PROMPTS}SUCCESS\n\nOK\n\n~txn/k\ny\n`,
    );
    expect(await s.ok(["txn", "-i"], { stdin: swap })).toBe(`${PROMPTS}FAILURE\n\nOK\n`);
    expect(await s.ok(["get", "~txn/other"])).toBe("~txn/other\nz\n");
    const guarded =
      `version("~txn/k") = "2"\ncreate("~txn/k") = "${created}"\n` +
      `mod("~txn/k") > "${created}"\nvalue("~txn/k") != "x"\n\ndel ~txn/k\n\nput ~txn/k wrong\n\n`;
    expect(await s.ok(["txn", "-i"], { stdin: guarded })).toBe(`${PROMPTS}SUCCESS\n\n1\n`);
    expect(await s.ok(["get", "~txn/k"])).toBe("");
    // Without -i etcdctl reads the same text from stdin but prints no prompts.
    const missing = 'create("~txn/k") = "0"\n\nput ~txn/k fresh\n\n\n';
    expect(await s.ok(["txn"], { stdin: missing })).toBe("SUCCESS\n\nOK\n");
    expect(await s.ok(["get", "~txn/k"])).toBe("~txn/k\nfresh\n");
  },
};

const watchHistory: CtlCase = {
  name: "watch --prefix --rev replays and follows puts and deletes from other members",
  async run(s) {
    const start = (await s.revision()) + 1;
    const watcher = s.spawn(0, ["watch", "--prefix", "~w/", "--rev", String(start)], {
      timeoutMs: 20_000,
    });
    try {
      await s.ctl.ok(s.endpoint(1), ["put", "~w/1", "a"]);
      await s.ctl.ok(s.endpoint(2), ["put", "~w/2", "b"]);
      await s.ctl.ok(s.endpoint(0), ["del", "~w/1"]);
      await watcher.waitFor(/DELETE\n~w\/1\n\n/);
      expect(watcher.stdout).toBe("PUT\n~w/1\na\nPUT\n~w/2\nb\nDELETE\n~w/1\n\n");
    } finally {
      await watcher.stop();
    }
  },
};

const watchPrevKv: CtlCase = {
  name: "watch --prev-kv on a follower shows the previous value",
  async run(s) {
    await s.ok(["put", "~wp/k", "old"]);
    const start = (await s.revision()) + 1;
    const watcher = s.spawn(1, ["watch", "--prev-kv", "~wp/k", "--rev", String(start)], {
      timeoutMs: 20_000,
    });
    try {
      await s.ok(["put", "~wp/k", "new"]);
      await s.ok(["del", "~wp/k"]);
      // etcdctl prints the previous key-value first, then the event's.
      await watcher.waitFor(/DELETE\n~wp\/k\nnew\n~wp\/k\n\n/);
      expect(watcher.stdout).toBe("PUT\n~wp/k\nold\n~wp/k\nnew\nDELETE\n~wp/k\nnew\n~wp/k\n\n");
    } finally {
      await watcher.stop();
    }
  },
};

const watchLive: CtlCase = {
  name: "watch from now (no --rev) sees later puts in order",
  async run(s) {
    const watcher = s.spawn(2, ["watch", "~wl/k"], { timeoutMs: 20_000 });
    try {
      // The watch is live once an event arrives; until then keep writing (bounded).
      let written = 0;
      for (let i = 0; i < 40 && !watcher.stdout.includes("PUT"); i++) {
        await s.ok(["put", "~wl/k", `v${written++}`]);
        await sleep(100);
      }
      await s.ok(["put", "~wl/k", "last"]);
      await watcher.waitFor(/PUT\n~wl\/k\nlast\n/);
      const values = watcher.stdout.match(/^PUT\n~wl\/k\n(.*)\n/gm) ?? [];
      const seen = values.map((v) => v.split("\n")[2]);
      expect(seen.at(-1)).toBe("last");
      const numbers = seen.slice(0, -1).map((v) => Number(v?.slice(1)));
      expect(numbers).toEqual([...numbers].sort((x, y) => x - y));
      expect(numbers.at(-1)).toBe(written - 1);
    } finally {
      await watcher.stop();
    }
  },
};

const compaction: CtlCase = {
  name: "compaction, --physical, and reads below the compacted revision",
  async run(s) {
    await s.ok(["put", "~cmp/k", "v1"]);
    const first = await s.revision();
    await s.ok(["put", "~cmp/k", "v2"]);
    await s.ok(["put", "~cmp/k", "v3"]);
    const last = await s.revision();
    expect(await s.ok(["compaction", String(last - 1)])).toBe(`compacted revision ${last - 1}\n`);
    expect(await s.fails(["get", "~cmp/k", "--rev", String(first)])).toContain(
      "Error: etcdserver: mvcc: required revision has been compacted\n",
    );
    expect(await s.ok(["get", "~cmp/k", "--rev", String(last - 1)])).toBe("~cmp/k\nv2\n");
    expect(await s.fails(["compaction", String(last - 1)])).toContain(
      "Error: etcdserver: mvcc: required revision has been compacted\n",
    );
    expect(await s.fails(["compaction", String(last + 1000)])).toContain(
      "Error: etcdserver: mvcc: required revision is a future revision\n",
    );
    expect(await s.ok(["compaction", "--physical", String(last)])).toBe(
      `compacted revision ${last}\n`,
    );
    expect(await s.ok(["get", "~cmp/k"])).toBe("~cmp/k\nv3\n");
  },
};

export const KV_CASES: readonly CtlCase[] = [
  putAndGet,
  serializable,
  del,
  errors,
  txn,
  watchHistory,
  watchPrevKv,
  watchLive,
  compaction,
];
