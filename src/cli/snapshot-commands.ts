// `cairn snapshot save|status|restore`: disaster recovery, as etcdctl's and
// etcdutl's snapshot commands. `save` is a client of a running member;
// `status` and `restore` work offline on a file (restore writes a data dir
// for `cairn serve`, so it runs where that member will run). The server-side
// modules they use are imported when a snapshot command runs, so the other
// commands do not load the state machine and LevelDB at start.
import { open, rename, rm } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import type { Cairn } from "../client/client.js";
import type { SnapshotInfo, StateSummary } from "../server/snapshot-info.js";
import type { RestoreReport } from "../server/snapshot-restore.js";
import { fieldTable, type GlobalOptions, output, withClient } from "./context.js";
import { CliError } from "./parse.js";

/** Ids as cairn prints them everywhere (hex), without loading server code for it. */
function hexId(id: number): string {
  return id.toString(16);
}

function summaryRows(summary: StateSummary): Array<[string, string]> {
  return [
    ["revision", String(summary.revision)],
    ["compact revision", String(summary.compactRevision)],
    ["keys", String(summary.keys)],
    ["leases", String(summary.leases)],
    [
      "rows",
      Object.entries(summary.rowsByTable)
        .map(([table, count]) => `${table}=${count}`)
        .join(" ") || "-",
    ],
  ];
}

function infoRows(info: SnapshotInfo): Array<[string, string]> {
  return [
    ["file", info.path],
    ["size", `${info.sizeBytes} bytes`],
    ["hash", `ok (sha256 ${info.sha256})`],
    ["applied index", String(info.appliedIndex)],
    ...summaryRows(info.summary),
  ];
}

/** fsync of the directory holding `path`, so a rename into it survives a crash. */
async function syncParent(path: string): Promise<void> {
  const parent = await open(dirname(path), "r");
  try {
    await parent.sync();
  } finally {
    await parent.close();
  }
}

/**
 * Streams into FILE.part, syncs, verifies the whole file (checksum and rows),
 * then renames it to FILE: FILE is either absent or a verified snapshot.
 */
async function save(client: Cairn, file: string, idleTimeoutMs: number) {
  const target = resolve(file);
  const part = `${target}.part`;
  const handle = await open(part, "w");
  let position = 0;
  let saved: Awaited<ReturnType<Cairn["snapshot"]>>;
  try {
    saved = await client.snapshot(
      {
        reset: async () => {
          await handle.truncate(0);
          position = 0;
        },
        write: async (chunk) => {
          await handle.write(chunk, 0, chunk.byteLength, position);
          position += chunk.byteLength;
        },
      },
      { idleTimeoutMs },
    );
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(part, { force: true });
    throw error;
  }
  await handle.close();
  const { snapshotInfo } = await import("../server/snapshot-info.js");
  let info: SnapshotInfo;
  try {
    info = await snapshotInfo(part);
  } catch (error) {
    await rm(part, { force: true });
    throw new CliError(
      `the snapshot ${saved.endpoint} sent failed verification, so nothing was saved: ` +
        `${(error as Error).message.replace(part, "(received)")}`,
    );
  }
  await rename(part, target);
  await syncParent(target);
  return { ...info, path: target, endpoint: saved.endpoint };
}

function registerSave(snapshot: Command, program: Command): void {
  snapshot
    .command("save <file>")
    .description(
      "save a member's snapshot to FILE (written to FILE.part, verified, then renamed); " +
        "works without a leader, so it also rescues a cluster that lost its quorum",
    )
    .action((file: string) =>
      withClient(program, "none", async (client, options: GlobalOptions) => {
        // --timeout bounds the wait for each chunk, not the whole transfer.
        const result = await save(client, file, Number(options.timeout));
        output(options, result, () =>
          [
            `Snapshot saved at ${result.path} (from ${result.endpoint})`,
            fieldTable(infoRows(result)),
          ].join("\n"),
        );
      }),
    );
  snapshot
    .command("status <file>")
    .description("verify a snapshot file and summarize it (offline)")
    .action(async (file: string) => {
      const { snapshotInfo } = await import("../server/snapshot-info.js");
      const info = await snapshotInfo(resolve(file));
      output(program.opts<GlobalOptions>(), info, () => fieldTable(infoRows(info)));
    });
}

interface RestoreFlags {
  readonly name: string;
  readonly initialCluster: string;
  readonly initialClusterToken?: string;
  readonly dataDir?: string;
  readonly initialAdvertisePeerUrls?: string;
}

interface RestoreRun {
  readonly report: RestoreReport;
  readonly name: string;
  readonly initialCluster: string;
  readonly token: string;
  readonly dataDir: string;
  readonly peerAddress: string;
}

function restoreText(run: RestoreRun): string {
  const { report, name } = run;
  return [
    `Restored into ${report.dataDir} as member ${name} (id ${hexId(report.memberId)}) ` +
      `of a new cluster (id ${hexId(report.clusterId)}) with members ` +
      report.members.map((m) => `${m.name} (${hexId(m.id)})`).join(", "),
    fieldTable([
      ["applied index in file", String(report.fileAppliedIndex)],
      ...summaryRows(report.summary),
    ]),
    "Restore every member from the same file, then start each with the same cluster flags, e.g.:",
    `  cairn serve --name ${name} --data-dir ${run.dataDir} --listen-peer ${run.peerAddress} ` +
      `--initial-cluster ${run.initialCluster} --initial-cluster-token ${run.token} ` +
      "--listen-client HOST:PORT",
  ].join("\n");
}

function registerRestore(snapshot: Command, program: Command): void {
  snapshot
    .command("restore <file>")
    .description(
      "write a fresh data dir from a snapshot file, as one member of a NEW cluster (offline; " +
        "refuses a damaged file and an existing data dir)",
    )
    .requiredOption("--name <name>", "this member's name in the new cluster")
    .requiredOption(
      "--initial-cluster <list>",
      "name=host:port,... peer addresses of every member of the new cluster",
    )
    .option(
      "--initial-cluster-token <token>",
      "the new cluster's token; members derive their ids from it (default cairn-cluster, as cairn serve)",
    )
    .option("--data-dir <dir>", "the data dir to create (default ./data/<name>, as cairn serve)")
    .option(
      "--initial-advertise-peer-urls <urls>",
      "this member's peer URL(s); checked against its --initial-cluster entry",
    )
    .action(async (file: string, flags: RestoreFlags) => {
      const { parseAddress, parseInitialCluster, SERVE_FLAGS } = await import(
        "../server/config.js"
      );
      const { restoreSnapshot } = await import("../server/snapshot-restore.js");
      const token = flags.initialClusterToken ?? SERVE_FLAGS["initial-cluster-token"]?.default;
      if (token === undefined || token === "") {
        throw new CliError("--initial-cluster-token must not be empty");
      }
      const dataDir = flags.dataDir ?? `./data/${flags.name}`;
      const initialCluster = parseInitialCluster(flags.initialCluster);
      const report = await restoreSnapshot({
        snapshotFile: resolve(file),
        name: flags.name,
        initialCluster,
        initialClusterToken: token,
        dataDir,
        advertisePeerAddresses:
          flags.initialAdvertisePeerUrls === undefined
            ? null
            : flags.initialAdvertisePeerUrls
                .split(",")
                .map((url) => parseAddress("initial-advertise-peer-urls", url)),
        nowMs: Date.now(),
      });
      const run: RestoreRun = {
        report,
        name: flags.name,
        initialCluster: flags.initialCluster,
        token,
        dataDir,
        peerAddress: initialCluster.find((p) => p.name === flags.name)?.peerAddress ?? "HOST:PORT",
      };
      output(program.opts<GlobalOptions>(), report, () => restoreText(run));
    });
}

export function registerSnapshotCommands(program: Command): void {
  const snapshot = program
    .command("snapshot")
    .description("disaster recovery: save, inspect and restore snapshots");
  registerSave(snapshot, program);
  registerRestore(snapshot, program);
}
