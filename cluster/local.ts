// `npm start`: runs a local 3- or 5-member cluster on 127.0.0.1 with data
// under ./data/ (or --data-dir), prints the endpoints, follows every member's
// log, and stops them all on Ctrl-C. Flags it does not know are passed on to every member
// (e.g. `npm start -- --size 5 --snapshot-count 1000`).
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { formatLogLine } from "./log-format.js";
import {
  LOCAL_BASE_PORT,
  LOCAL_MEMBER_PORT_STRIDE,
  type LocalMember,
  localMembers,
} from "./ports.js";

/** The fifth member's metrics port (base + 4·stride + 2) must still be a port. */
const BASE_PORT_MAX = 65_535 - 4 * LOCAL_MEMBER_PORT_STRIDE - 2;

interface LauncherOptions {
  readonly size: number;
  readonly dataDir: string;
  /** Member i's client port is basePort + i·10000; its peer and metrics ports follow. */
  readonly basePort: number;
  readonly passThrough: readonly string[];
}

function usage(message: string): never {
  process.stderr.write(
    `${message}\nusage: npm start -- [--size 3|5] [--data-dir ./data] [--base-port 2379] [cairn serve flags…]\n`,
  );
  process.exit(2);
}

export function parseLauncherArgs(argv: readonly string[]): LauncherOptions {
  let size = 3;
  let dataDir = "./data";
  let basePort = LOCAL_BASE_PORT;
  const passThrough: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = (): string =>
      inline ?? (argv[++i] as string | undefined) ?? usage(`${flag} needs a value`);
    if (flag === "--size") {
      size = Number(value());
      if (size !== 1 && size !== 3 && size !== 5) usage(`--size must be 1, 3 or 5, got ${size}`);
    } else if (flag === "--data-dir") {
      dataDir = value();
    } else if (flag === "--base-port") {
      basePort = Number(value());
      if (!Number.isInteger(basePort) || basePort < 1 || basePort > BASE_PORT_MAX) {
        usage(`--base-port must be an integer from 1 to ${BASE_PORT_MAX}, got ${basePort}`);
      }
    } else {
      passThrough.push(arg);
    }
  }
  return { size, dataDir, basePort, passThrough };
}

/** Refuses to start a cluster of another size over existing data: the members would disagree. */
function checkDataDir(options: LauncherOptions): void {
  mkdirSync(options.dataDir, { recursive: true });
  const marker = join(options.dataDir, "cluster.json");
  if (existsSync(marker)) {
    const previous = JSON.parse(readFileSync(marker, "utf8")) as { size: number };
    if (previous.size !== options.size) {
      usage(
        `${options.dataDir} holds a ${previous.size}-member cluster; run with --size ${previous.size}, ` +
          `or remove ${options.dataDir} to start a new ${options.size}-member cluster`,
      );
    }
    return;
  }
  writeFileSync(marker, JSON.stringify({ size: options.size }));
}

function startMember(
  member: LocalMember,
  all: readonly LocalMember[],
  options: LauncherOptions,
): ChildProcess {
  const cli = resolve(import.meta.dirname, "..", "src", "cli", "main.js");
  const args = [
    cli,
    "serve",
    "--name",
    member.name,
    "--data-dir",
    join(options.dataDir, member.name),
    "--listen-client",
    member.client,
    "--listen-peer",
    member.peer,
    "--listen-metrics",
    member.metrics,
    "--initial-cluster",
    all.map((m) => `${m.name}=${m.peer}`).join(","),
    ...options.passThrough,
  ];
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CAIRN_LOG_FORMAT: "json" },
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) =>
      process.stdout.write(`${formatLogLine(member.name, line)}\n`),
    );
  }
  child.on("exit", (code, signal) => {
    process.stdout.write(`${member.name} exited (${signal ?? `code ${code}`})\n`);
  });
  return child;
}

async function waitForLeader(members: readonly LocalMember[], timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const answers = await Promise.all(
      members.map((m) =>
        fetch(`http://${m.metrics}/readyz`).then(
          (r) => r.ok,
          () => false,
        ),
      ),
    );
    if (answers.every(Boolean)) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 100));
  }
  return -1;
}

async function main(): Promise<void> {
  const options = parseLauncherArgs(process.argv.slice(2));
  checkDataDir(options);
  const members = localMembers(options.size, undefined, options.basePort);
  const children = members.map((member) => startMember(member, members, options));
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write("stopping every member…\n");
    for (const child of children) child.kill("SIGTERM");
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  let exited = 0;
  for (const child of children) {
    child.on("exit", () => {
      exited++;
      if (exited === children.length) process.exit(stopping ? 0 : 1);
    });
  }
  const electedMs = await waitForLeader(members, 15_000);
  const endpoints = members.map((m) => m.client).join(",");
  process.stdout.write(
    `\ncairn: ${options.size}-member cluster ${electedMs >= 0 ? `ready in ${electedMs} ms` : "NOT ready after 15 s"}\n` +
      members
        .map(
          (m, i) =>
            `  ${m.name}  client ${m.client}  peer ${m.peer}  metrics http://${m.metrics}/metrics  pid ${children[i]?.pid}`,
        )
        .join("\n") +
      `\n  try: npx cairn --endpoints ${endpoints} put hello world && npx cairn get hello\n` +
      "  Ctrl-C stops every member; data stays in " +
      options.dataDir +
      "\n\n",
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`cairn cluster: ${(error as Error).message}\n`);
  process.exit(1);
});
