// `cairn resource create|get|list|update|start|stop|restart|delete|install|
// stats|watch`: the inventory from the shell. Tables by default, --json for
// scripts (JSON lines for watch).
import type { Command } from "commander";
import { resourceKinds } from "../client/convert.js";
import type { Resource, ResourceEvent, ResourceSortField } from "../client/types.js";
import { fieldTable, type GlobalOptions, output, withClient } from "./context.js";
import { collect, formatTime, parseChoice, parseInteger, parsePairs } from "./parse.js";
import {
  databaseSpec,
  type FenceFlags,
  type FilterFlags,
  fence,
  resourceFilter,
  type SpecFlags,
  serverSpec,
  specUpdate,
} from "./resource-flags.js";
import { formatTable } from "./table.js";

const LIST_HEADERS = [
  "ID",
  "NAME",
  "KIND",
  "STATUS",
  "REGION",
  "OWNER",
  "CPU",
  "MEM_MIB",
  "VERSION",
];

function size(resource: Resource): { cpu: number; memoryMib: number; diskGib: number } {
  const spec = resource.server ?? resource.database;
  return { cpu: spec?.cpu ?? 0, memoryMib: spec?.memoryMib ?? 0, diskGib: spec?.diskGib ?? 0 };
}

function listRow(resource: Resource): string[] {
  const { cpu, memoryMib } = size(resource);
  return [
    resource.id,
    resource.name,
    resource.kind,
    resource.status,
    resource.region,
    resource.owner,
    String(cpu),
    String(memoryMib),
    String(resource.version),
  ];
}

function resourceFields(resource: Resource): [string, string][] {
  const { cpu, memoryMib, diskGib } = size(resource);
  const labels = Object.entries(resource.labels).map(([k, v]) => `${k}=${v}`);
  return [
    ["id", resource.id],
    ["name", resource.name],
    ["kind", resource.kind],
    ["status", resource.status + (resource.statusMessage ? ` (${resource.statusMessage})` : "")],
    ["region", resource.region],
    ["category", resource.category || "-"],
    ["owner", resource.owner],
    ["labels", labels.join(",") || "-"],
    ["cpu / memory / disk", `${cpu} / ${memoryMib} MiB / ${diskGib} GiB`],
    resource.server
      ? ["image / hostname", `${resource.server.image} / ${resource.server.hostname}`]
      : ["engine", `${resource.database?.engine} ${resource.database?.version}`],
    ["software", resource.installedSoftware.map((s) => `${s.name}@${s.version}`).join(",") || "-"],
    [
      "created / updated",
      `${formatTime(resource.createdAtMs)} / ${formatTime(resource.updatedAtMs)}`,
    ],
    ["version", String(resource.version)],
  ];
}

function printResource(options: GlobalOptions, resource: Resource): void {
  output(options, resource, () => fieldTable(resourceFields(resource)));
}

function addSpecFlags(command: Command): Command {
  return command
    .option("--image <image>", "server: OS image")
    .option("--cpu <n>", "vCPUs (1..512)")
    .option("--memory-mib <n>", "memory in MiB")
    .option("--disk-gib <n>", "disk in GiB")
    .option("--bandwidth-mbps <n>", "server: bandwidth (default 1000)")
    .option("--hostname <name>", "server: host name (default: the resource name)")
    .option("--dns <ip>", "server: DNS server, repeatable", collect, [])
    .option("--ssh-key <fingerprint>", "server: SHA256:… key fingerprint, repeatable", collect, [])
    .option("--engine <engine>", "database: mysql|postgresql|redis|mongodb")
    .option("--db-version <version>", 'database: engine version like "16"')
    .option("--replicas <n>", "database: replicas besides the primary (0..16)")
    .option("--backup-schedule <cron>", 'backups: 5-field cron in UTC, e.g. "0 3 * * *"')
    .option("--backup-retention-days <n>", "backups: days to keep (1..3650)");
}

function addFilterFlags(command: Command): Command {
  return command
    .option("--kind <kind>", "server|database")
    .option("--status <status>", "provisioning|running|stopped|error|deleted")
    .option("--region <region>", "region")
    .option("--owner <username>", "owner")
    .option("--category <category>", "category")
    .option("--selector <labels>", 'label selector, e.g. "env=prod,tier!=db"')
    .option("--name-contains <text>", "case-insensitive name substring");
}

function addFenceFlags(command: Command): Command {
  return command
    .option("--fence-lock <name>", "lock whose holder may write (with --fence-token)")
    .option("--fence-token <token>", "fencing token from the lock ($CAIRN_LOCK_TOKEN)");
}

type CreateFlags = SpecFlags & {
  readonly kind: string;
  readonly region: string;
  readonly category?: string;
  readonly owner?: string;
  readonly label: string[];
};

type UpdateFlags = SpecFlags &
  FenceFlags & {
    readonly name?: string;
    readonly region?: string;
    readonly category?: string;
    readonly owner?: string;
    readonly label: string[];
    readonly expectedVersion?: string;
  };

type ListFlags = FilterFlags & {
  readonly sort: string;
  readonly desc?: boolean;
  readonly pageSize: string;
  readonly limit?: string;
  readonly serializable?: boolean;
};

function registerCreate(resource: Command, program: Command): void {
  addSpecFlags(
    resource
      .command("create <name>")
      .description("create a server or database (it starts as provisioning)")
      .requiredOption("--kind <kind>", "server|database")
      .requiredOption("--region <region>", "region, e.g. eu-west")
      .option("--category <category>", "free-form category")
      .option("--owner <username>", "owner (default: you)")
      .option("--label <key=value>", "label, repeatable", collect, []),
  ).action((name: string, flags: CreateFlags) =>
    withClient(program, "required", async (client, options) => {
      const kind = parseChoice("--kind", flags.kind, resourceKinds);
      const created = await client.resources.create({
        name,
        region: flags.region,
        labels: parsePairs("--label", flags.label),
        ...(flags.category === undefined ? {} : { category: flags.category }),
        ...(flags.owner === undefined ? {} : { owner: flags.owner }),
        ...(kind === "server"
          ? { server: serverSpec(flags, name) }
          : { database: databaseSpec(flags) }),
      });
      printResource(options, created);
    }),
  );
}

function registerReads(resource: Command, program: Command): void {
  resource
    .command("get <id>")
    .description("one resource")
    .action((id: string) =>
      withClient(program, "required", async (client, options) => {
        printResource(options, await client.resources.get(id));
      }),
    );
  addFilterFlags(resource.command("list").description("resources matching the filters"))
    .option("--sort <field>", "name|created-at|updated-at", "name")
    .option("--desc", "descending order")
    .option("--page-size <n>", "resources per request (1..500)", "100")
    .option("--limit <n>", "stop after this many")
    .option("--serializable", "read one member's local state: works without a leader, may be stale")
    .action((flags: ListFlags) =>
      withClient(program, "required", async (client, options) => {
        const sortBy = parseChoice<ResourceSortField>("--sort", flags.sort, [
          "name",
          "created-at",
          "updated-at",
        ]);
        const limit =
          flags.limit === undefined
            ? Number.POSITIVE_INFINITY
            : parseInteger("--limit", flags.limit, 1, 1_000_000);
        const found: Resource[] = [];
        const pages = client.resources.list({
          filter: resourceFilter(flags),
          sortBy,
          order: flags.desc === true ? "descending" : "ascending",
          pageSize: parseInteger("--page-size", flags.pageSize, 1, 500),
          serializable: flags.serializable === true,
        });
        for await (const item of pages.items()) {
          if (found.length >= limit) break;
          found.push(item);
        }
        output(options, found, () => formatTable(LIST_HEADERS, found.map(listRow)));
      }),
    );
}

function registerUpdate(resource: Command, program: Command): void {
  addFenceFlags(
    addSpecFlags(
      resource
        .command("update <id>")
        .description("change fields; the spec flags replace parts of the current spec")
        .option("--name <name>", "new name")
        .option("--region <region>", "new region")
        .option("--category <category>", "new category")
        .option("--owner <username>", "new owner")
        .option("--label <key=value>", "replace the labels with these, repeatable", collect, [])
        .option(
          "--expected-version <n>",
          "fail unless at this version (default: the version read now)",
        ),
    ),
  ).action((id: string, flags: UpdateFlags) =>
    withClient(program, "required", async (client, options) => {
      const current = await client.resources.get(id);
      const guard = fence(flags);
      const expectedVersion =
        flags.expectedVersion === undefined
          ? guard === undefined
            ? current.version // read-modify-write: refused if someone changed it meanwhile
            : 0
          : parseInteger("--expected-version", flags.expectedVersion, 1, Number.MAX_SAFE_INTEGER);
      const updated = await client.resources.update(id, {
        expectedVersion,
        ...(guard === undefined ? {} : { fence: guard }),
        ...(flags.name === undefined ? {} : { name: flags.name }),
        ...(flags.region === undefined ? {} : { region: flags.region }),
        ...(flags.category === undefined ? {} : { category: flags.category }),
        ...(flags.owner === undefined ? {} : { owner: flags.owner }),
        ...(flags.label.length === 0 ? {} : { labels: parsePairs("--label", flags.label) }),
        ...specUpdate(flags, current),
      });
      printResource(options, updated);
    }),
  );
}

type ActionName = "start" | "stop" | "restart" | "delete";

const ACTIONS: readonly [ActionName, string][] = [
  ["start", "provisioning/stopped/error → running"],
  ["stop", "running/error → stopped"],
  ["restart", "running → running (a new version)"],
  ["delete", "stopped/error → deleted (final)"],
];

function registerActions(resource: Command, program: Command): void {
  for (const [action, description] of ACTIONS) {
    addFenceFlags(
      resource
        .command(`${action} <id>`)
        .description(description)
        .option("--reason <text>", "why (kept in the op log)"),
    ).action((id: string, flags: FenceFlags & { reason?: string }) =>
      withClient(program, "required", async (client, options) => {
        const guard = fence(flags);
        const changed = await client.resources[action](id, {
          ...(guard === undefined ? {} : { fence: guard }),
          ...(flags.reason === undefined ? {} : { reason: flags.reason }),
        });
        output(
          options,
          changed,
          () => `${changed.id} ${changed.status} (version ${changed.version})`,
        );
      }),
    );
  }
  addFenceFlags(
    resource
      .command("install <id> <software> <version>")
      .description("install (or replace) a package on a running resource"),
  ).action((id: string, software: string, version: string, flags: FenceFlags) =>
    withClient(program, "required", async (client, options) => {
      const guard = fence(flags);
      const changed = await client.resources.install(
        id,
        { name: software, version },
        guard === undefined ? {} : { fence: guard },
      );
      output(options, changed, () => `${changed.id}: installed ${software}@${version}`);
    }),
  );
}

function eventLine(event: ResourceEvent): string {
  const r = event.resource;
  const from =
    event.prev !== undefined && event.prev.status !== r.status ? `${event.prev.status} → ` : "";
  return `#${event.sequence} ${event.type} ${r.id} ${r.name} ${from}${r.status} v${r.version}`;
}

function registerStats(resource: Command, program: Command): void {
  addFilterFlags(
    resource.command("stats").description("counts and totals over matching resources"),
  ).action((flags: FilterFlags) =>
    withClient(program, "required", async (client, options) => {
      const stats = await client.resources.stats(resourceFilter(flags));
      const groups = (name: string, counts: Readonly<Record<string, number>>): [string, string] => [
        name,
        Object.entries(counts)
          .map(([k, v]) => `${k}=${v}`)
          .join(" ") || "-",
      ];
      output(options, stats, () =>
        fieldTable([
          ["total", String(stats.total)],
          groups("by kind", stats.byKind),
          groups("by status", stats.byStatus),
          groups("by region", stats.byRegion),
          groups("by owner", stats.byOwner),
          ["cpu total", String(stats.cpuTotal)],
          ["memory total", `${stats.memoryMibTotal} MiB`],
          ["disk total", `${stats.diskGibTotal} GiB`],
        ]),
      );
    }),
  );
}

type WatchFlags = FilterFlags & {
  id?: string;
  since?: string;
  sinceRevision?: string;
  count?: string;
};

function registerWatch(resource: Command, program: Command): void {
  addFilterFlags(
    resource.command("watch").description("print changes as they happen (Ctrl-C stops)"),
  )
    .option("--id <id>", "only this resource")
    .option("--since <sequence>", "replay from this op-log sequence")
    .option("--since-revision <revision>", "replay changes made at this store revision or later")
    .option("--count <n>", "exit after this many events")
    .action((flags: WatchFlags) =>
      withClient(program, "required", async (client, options) => {
        const countMax =
          flags.count === undefined
            ? Number.POSITIVE_INFINITY
            : parseInteger("--count", flags.count, 1, 1_000_000);
        const controller = new AbortController();
        const stop = (): void => controller.abort();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        const watch = client.resources.watch({
          filter: resourceFilter(flags),
          signal: controller.signal,
          ...(flags.id === undefined ? {} : { resourceId: flags.id }),
          ...(flags.since === undefined
            ? {}
            : { sinceSequence: parseInteger("--since", flags.since, 1, Number.MAX_SAFE_INTEGER) }),
          ...(flags.sinceRevision === undefined
            ? {}
            : {
                sinceRevision: parseInteger(
                  "--since-revision",
                  flags.sinceRevision,
                  1,
                  Number.MAX_SAFE_INTEGER,
                ),
              }),
        });
        let seen = 0;
        try {
          for await (const event of watch) {
            process.stdout.write(
              options.json ? `${JSON.stringify(event)}\n` : `${eventLine(event)}\n`,
            );
            if (++seen >= countMax) break;
          }
        } catch (error) {
          if (!controller.signal.aborted) throw error;
        } finally {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          watch.close();
        }
      }),
    );
}

export function registerResourceCommands(program: Command): void {
  const resource = program
    .command("resource")
    .description("servers and databases in the inventory");
  registerCreate(resource, program);
  registerReads(resource, program);
  registerUpdate(resource, program);
  registerActions(resource, program);
  registerStats(resource, program);
  registerWatch(resource, program);
}
