// `cairn serve` configuration: flags, each also readable from a CAIRN_* env
// var (--snapshot-count ↔ CAIRN_SNAPSHOT_COUNT), validated once into a typed,
// readonly config. Every rejection says which flag and what is allowed.
import { parseArgs } from "node:util";
import { validatePassword } from "../state/index.js";
import {
  isUnsafeSwitch,
  UNSAFE_SWITCHES,
  type UnsafeSwitch,
  type UnsafeSwitches,
} from "./unsafe.js";

export interface PeerSpec {
  readonly name: string;
  readonly peerAddress: string;
}

export interface ServeConfig {
  readonly name: string;
  readonly dataDir: string;
  readonly listenClient: string;
  /** Client URLs other members and clients are told to use (etcd --advertise-client-urls). */
  readonly advertiseClientUrls: readonly string[];
  readonly listenPeer: string;
  readonly listenMetrics: string;
  readonly initialCluster: readonly PeerSpec[];
  readonly initialClusterToken: string;
  /** "new": bootstrap a cluster of --initial-cluster; "existing": join one (after MemberAdd). */
  readonly initialClusterState: "new" | "existing";
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
  readonly snapshotCount: number;
  /** Log entries kept below a snapshot point for slow followers. */
  readonly snapshotCatchupEntries: number;
  readonly maxRequestBytes: number;
  readonly requestTimeoutMs: number;
  readonly logLevel: string;
  readonly unsafeTestMode: boolean;
  /** --unsafe: planted bugs (see unsafe.ts); empty unless --unsafe-test-mode is also given. */
  readonly unsafe: UnsafeSwitches;
  /**
   * Test-only (needs --unsafe-test-mode): peer address as the membership lists
   * it → the address this member dials instead (a fault proxy per link).
   */
  readonly unsafePeerDial: ReadonlyMap<string, string>;
  readonly quotaBackendBytes: number;
  readonly maxTxnOps: number;
  readonly autoCompaction: AutoCompaction;
  /** Creates the platform user `admin` with this password when the cluster has no users yet. */
  readonly adminPassword: string | null;
  /** How often the leader compares members' hashes (etcd --experimental-corrupt-check-time); 0 = off. */
  readonly corruptCheckIntervalMs: number;
  /** Below this much free space on the data dir's volume, this member refuses writes; 0 = off. */
  readonly diskReserveBytes: number;
}

/** etcd's --auto-compaction-mode/--auto-compaction-retention; "off" when retention is 0. */
export type AutoCompaction =
  | { readonly mode: "off" }
  | { readonly mode: "periodic"; readonly retentionMs: number }
  | { readonly mode: "revision"; readonly retentionRevisions: number };

interface FlagSpec {
  readonly type: "string" | "boolean";
  readonly default?: string;
  readonly help: string;
}

export const SERVE_FLAGS: Readonly<Record<string, FlagSpec>> = {
  name: { type: "string", help: "this member's name (must appear in --initial-cluster)" },
  "data-dir": {
    type: "string",
    help: "directory for the member's LevelDB (default ./data/<name>)",
  },
  "listen-client": {
    type: "string",
    default: "127.0.0.1:2379",
    help: "client gRPC address host:port",
  },
  "advertise-client-urls": {
    type: "string",
    help: "client URLs published to other members (default http://<listen-client>)",
  },
  "listen-peer": { type: "string", default: "127.0.0.1:2380", help: "peer gRPC address host:port" },
  "listen-metrics": {
    type: "string",
    default: "127.0.0.1:2381",
    help: "HTTP /metrics /health /readyz",
  },
  "initial-cluster": { type: "string", help: "name=host:port,... peer addresses of every member" },
  "initial-cluster-token": {
    type: "string",
    default: "cairn-cluster",
    help: "distinguishes clusters",
  },
  "initial-cluster-state": {
    type: "string",
    default: "new",
    help: "new: start a new cluster; existing: join a running one (add the member first)",
  },
  "heartbeat-interval": { type: "string", default: "100", help: "heartbeat interval in ms" },
  "election-timeout": { type: "string", default: "1000", help: "election timeout in ms" },
  "snapshot-count": { type: "string", default: "10000", help: "applied entries between snapshots" },
  "snapshot-catchup-entries": {
    type: "string",
    default: "5000",
    help: "log entries kept after a snapshot for slow followers",
  },
  "max-request-bytes": {
    type: "string",
    default: String(1.5 * 1024 * 1024),
    help: "max client request size",
  },
  "request-timeout": {
    type: "string",
    default: "7000",
    help: "ms before a request fails with timed out",
  },
  "quota-backend-bytes": {
    type: "string",
    default: String(2 * 1024 ** 3),
    help: "db size that raises NOSPACE",
  },
  "max-txn-ops": { type: "string", default: "128", help: "max operations in one txn" },
  "disk-reserve-bytes": {
    type: "string",
    default: String(64 * 1024 * 1024),
    help: "free space on the data dir's volume below which this member refuses writes; 0 = off",
  },
  "auto-compaction-mode": { type: "string", default: "periodic", help: "periodic|revision" },
  "auto-compaction-retention": {
    type: "string",
    default: "0",
    help: "periodic: hours (1, 0.5) or a duration (30m, 1h); revision: revisions to keep; 0 = off",
  },
  "corrupt-check-interval": {
    type: "string",
    default: "60s",
    help: "how often the leader compares members' HashKV and state digests: ms or a duration (30s, 5m); 0 = off",
  },
  "log-level": { type: "string", default: "info", help: "trace|debug|info|warn|error" },
  "admin-password": {
    type: "string",
    help: "creates platform user `admin` with this password on a cluster without users (prefer the env var: flags show in ps)",
  },
  "unsafe-test-mode": {
    type: "boolean",
    help: "enables test-only fault hooks; never in production",
  },
  unsafe: {
    type: "string",
    help: `comma-separated planted bugs for testing (${UNSAFE_SWITCHES.join(",")}); needs --unsafe-test-mode`,
  },
  "unsafe-peer-dial": {
    type: "string",
    help: "test only, needs --unsafe-test-mode: PEER_ADDR=DIAL_ADDR,... dials a peer listed at PEER_ADDR through DIAL_ADDR (a proxy)",
  },
};

/** What --name accepts (also checked by `cairn snapshot restore`, which names a member to be). */
export const MEMBER_NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export function envName(flag: string): string {
  return `CAIRN_${flag.toUpperCase().replaceAll("-", "_")}`;
}

/** Accepts host:port, or a URL as etcd prints it (http://host:port). */
export function parseAddress(flag: string, raw: string): string {
  const text = raw
    .trim()
    .replace(/^(https?|grpc):\/\//, "")
    .replace(/\/$/, "");
  const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[2]) : -1;
  if (!match || port < 0 || port > 65535) {
    throw new ConfigError(`--${flag}: expected host:port (e.g. 127.0.0.1:2380), got "${raw}"`);
  }
  return text;
}

function parseIntegerFlag(flag: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`--${flag} must be an integer in ${min}..${max}, got "${raw}"`);
  }
  return value;
}

export function parseInitialCluster(raw: string): PeerSpec[] {
  const peers: PeerSpec[] = [];
  for (const part of raw
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "")) {
    const eq = part.indexOf("=");
    if (eq <= 0) {
      throw new ConfigError(`--initial-cluster: expected name=host:port, got "${part}"`);
    }
    const name = part.slice(0, eq);
    if (peers.some((p) => p.name === name)) {
      throw new ConfigError(`--initial-cluster: member "${name}" is listed twice`);
    }
    peers.push({ name, peerAddress: parseAddress("initial-cluster", part.slice(eq + 1)) });
  }
  if (peers.length === 0) {
    throw new ConfigError("--initial-cluster: at least one member is required");
  }
  return peers;
}

/** Merges flags over env over defaults and validates the result. */
export function parseServeArgs(argv: readonly string[], env: NodeJS.ProcessEnv): ServeConfig {
  const options = Object.fromEntries(
    Object.entries(SERVE_FLAGS).map(([flag, spec]) => [flag, { type: spec.type }]),
  ) as Record<string, { type: "string" | "boolean" }>;
  let parsed: Record<string, string | boolean | undefined>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  const get = (flag: string): string | undefined => {
    const fromFlag = parsed[flag];
    if (typeof fromFlag === "string") return fromFlag;
    if (fromFlag === true) return "true";
    return env[envName(flag)] ?? SERVE_FLAGS[flag]?.default;
  };
  return buildConfig(get);
}

function buildConfig(get: (flag: string) => string | undefined): ServeConfig {
  const name = get("name");
  if (name === undefined || !MEMBER_NAME_PATTERN.test(name)) {
    throw new ConfigError(`--name is required: 1-64 of [A-Za-z0-9._-], got "${name ?? ""}"`);
  }
  const listenPeer = parseAddress("listen-peer", get("listen-peer") as string);
  const listenClient = parseAddress("listen-client", get("listen-client") as string);
  const initialCluster = parseInitialCluster(get("initial-cluster") ?? `${name}=${listenPeer}`);
  if (!initialCluster.some((p) => p.name === name)) {
    throw new ConfigError(`--initial-cluster does not list this member "${name}"`);
  }
  const heartbeatIntervalMs = parseIntegerFlag(
    "heartbeat-interval",
    get("heartbeat-interval") as string,
    10,
    60_000,
  );
  const electionTimeoutMs = parseIntegerFlag(
    "election-timeout",
    get("election-timeout") as string,
    50,
    600_000,
  );
  if (electionTimeoutMs < 5 * heartbeatIntervalMs) {
    throw new ConfigError(
      `--election-timeout (${electionTimeoutMs} ms) must be at least 5 × --heartbeat-interval (${heartbeatIntervalMs} ms)`,
    );
  }
  return {
    name,
    dataDir: get("data-dir") ?? `./data/${name}`,
    listenClient,
    advertiseClientUrls: (get("advertise-client-urls") ?? `http://${listenClient}`)
      .split(",")
      .map((url) => `http://${parseAddress("advertise-client-urls", url)}`),
    listenPeer,
    listenMetrics: parseAddress("listen-metrics", get("listen-metrics") as string),
    initialCluster,
    initialClusterToken: get("initial-cluster-token") as string,
    initialClusterState: parseClusterState(get("initial-cluster-state") as string),
    heartbeatIntervalMs,
    electionTimeoutMs,
    snapshotCount: parseIntegerFlag(
      "snapshot-count",
      get("snapshot-count") as string,
      1,
      100_000_000,
    ),
    snapshotCatchupEntries: parseIntegerFlag(
      "snapshot-catchup-entries",
      get("snapshot-catchup-entries") as string,
      0,
      100_000_000,
    ),
    maxRequestBytes: parseIntegerFlag(
      "max-request-bytes",
      get("max-request-bytes") as string,
      1024,
      64 * 1024 * 1024,
    ),
    requestTimeoutMs: parseIntegerFlag(
      "request-timeout",
      get("request-timeout") as string,
      100,
      600_000,
    ),
    logLevel: get("log-level") as string,
    unsafeTestMode: get("unsafe-test-mode") === "true",
    unsafe: parseUnsafe(get("unsafe"), get("unsafe-test-mode") === "true"),
    unsafePeerDial: parsePeerDial(get("unsafe-peer-dial"), get("unsafe-test-mode") === "true"),
    quotaBackendBytes: parseIntegerFlag(
      "quota-backend-bytes",
      get("quota-backend-bytes") as string,
      1024 * 1024,
      2 ** 40,
    ),
    maxTxnOps: parseIntegerFlag("max-txn-ops", get("max-txn-ops") as string, 1, 100_000),
    autoCompaction: parseAutoCompaction(
      get("auto-compaction-mode") as string,
      get("auto-compaction-retention") as string,
    ),
    adminPassword: parseAdminPassword(get("admin-password")),
    diskReserveBytes: parseIntegerFlag(
      "disk-reserve-bytes",
      get("disk-reserve-bytes") as string,
      0,
      2 ** 40,
    ),
    corruptCheckIntervalMs: parseInterval(
      "corrupt-check-interval",
      get("corrupt-check-interval") as string,
      CORRUPT_CHECK_INTERVAL_MS_MIN,
    ),
  };
}

/** --unsafe a,b: every name known, and only together with --unsafe-test-mode. */
export function parseUnsafe(raw: string | undefined, testMode: boolean): UnsafeSwitches {
  const names = (raw ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  const switches = new Set<UnsafeSwitch>();
  for (const name of names) {
    if (!isUnsafeSwitch(name)) {
      throw new ConfigError(
        `--unsafe: unknown switch "${name}"; valid switches are ${UNSAFE_SWITCHES.join(", ")}`,
      );
    }
    switches.add(name);
  }
  if (switches.size > 0 && !testMode) {
    throw new ConfigError(
      `--unsafe (${[...switches].join(",")}) plants bugs and is refused without --unsafe-test-mode; give both flags (tests only) or drop --unsafe`,
    );
  }
  return switches;
}

/** --unsafe-peer-dial 127.0.0.1:2380=127.0.0.1:9001,...; refused outside unsafe test mode. */
export function parsePeerDial(
  raw: string | undefined,
  unsafeTestMode: boolean,
): ReadonlyMap<string, string> {
  const overrides = new Map<string, string>();
  if (raw === undefined || raw.trim() === "") return overrides;
  if (!unsafeTestMode) {
    throw new ConfigError("--unsafe-peer-dial is a test-only flag: it needs --unsafe-test-mode");
  }
  for (const part of raw
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "")) {
    const eq = part.indexOf("=");
    if (eq <= 0) {
      throw new ConfigError(`--unsafe-peer-dial: expected PEER_ADDR=DIAL_ADDR, got "${part}"`);
    }
    const from = parseAddress("unsafe-peer-dial", part.slice(0, eq));
    if (overrides.has(from)) {
      throw new ConfigError(`--unsafe-peer-dial: ${from} is listed twice`);
    }
    overrides.set(from, parseAddress("unsafe-peer-dial", part.slice(eq + 1)));
  }
  return overrides;
}

function parseClusterState(raw: string): "new" | "existing" {
  if (raw !== "new" && raw !== "existing") {
    throw new ConfigError(`--initial-cluster-state must be new or existing, got "${raw}"`);
  }
  return raw;
}

/** A floor, so a bare "1" (meant as seconds?) cannot make the leader hash all state every ms. */
const CORRUPT_CHECK_INTERVAL_MS_MIN = 100;
const INTERVAL_MS_MAX = 7 * 24 * 3_600_000;

/** A period in ms: a bare integer is ms, or a duration (500ms, 30s, 5m, 1h); 0 = off. */
export function parseInterval(flag: string, raw: string, minMs: number): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  const ms =
    match === null
      ? Number.NaN
      : Number(match[1]) * (DURATION_UNITS_MS[match[2] ?? "ms"] as number);
  if (!Number.isFinite(ms) || (ms !== 0 && (ms < minMs || ms > INTERVAL_MS_MAX))) {
    throw new ConfigError(
      `--${flag} must be 0 (off) or ${minMs} ms..7 days, as ms or a duration (500ms, 30s, 5m, 1h), got "${raw}"`,
    );
  }
  return Math.round(ms);
}

/** Checked like a Register password, so a bad one stops the member at start, not at bootstrap. */
function parseAdminPassword(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  const invalid = validatePassword(raw);
  if (invalid !== null) {
    // Never echo the password itself: the message only names the rule.
    throw new ConfigError(`--admin-password: ${invalid.replace(/^user\.password /, "")}`);
  }
  return raw;
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

export function parseAutoCompaction(mode: string, retention: string): AutoCompaction {
  if (mode !== "periodic" && mode !== "revision") {
    throw new ConfigError(`--auto-compaction-mode must be periodic or revision, got "${mode}"`);
  }
  if (mode === "revision") {
    const revisions = parseIntegerFlag(
      "auto-compaction-retention",
      retention,
      0,
      Number.MAX_SAFE_INTEGER,
    );
    return revisions === 0 ? { mode: "off" } : { mode, retentionRevisions: revisions };
  }
  // etcd reads a bare number as hours, or a Go duration such as 30m or 1h.
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(retention.trim());
  if (match === null) {
    throw new ConfigError(
      `--auto-compaction-retention must be hours (1, 0.5) or a duration (30m, 1h), got "${retention}"`,
    );
  }
  const retentionMs = Number(match[1]) * (DURATION_UNITS_MS[match[2] ?? "h"] as number);
  return retentionMs === 0 ? { mode: "off" } : { mode, retentionMs };
}
