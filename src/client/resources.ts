// cairn.v1.Resources: inventory CRUD, lifecycle actions, software installs,
// stats and a resumable watch. Every mutation is a plain write (retried only
// when it never reached a server): Restart bumps the version each time and
// Create mints a new id, so neither may be repeated blindly.
import type { cairn } from "../gen/cairn.js";
import {
  fromResource,
  fromResourceEvent,
  toDatabaseSpec,
  toFence,
  toResourceFilter,
  toServerSpec,
  toSortField,
  toSortOrder,
} from "./convert.js";
import type { CallOptions, Invoker } from "./invoker.js";
import { PageIterator } from "./pages.js";
import { RESOURCES } from "./platform-methods.js";
import type { UnaryMethod } from "./rpc.js";
import type {
  CreateResourceInput,
  Fence,
  Page,
  Resource,
  ResourceEvent,
  ResourceFilter,
  ResourceSortField,
  ResourceStats,
  SortOrder,
  UpdateResourceInput,
} from "./types.js";
import { type Watch, type WatchOptions, WatchStream } from "./watch-stream.js";

export interface ListResourcesOptions extends CallOptions {
  readonly filter?: ResourceFilter;
  readonly sortBy?: ResourceSortField;
  readonly order?: SortOrder;
  /** 1..500; unset = the server's default (100). */
  readonly pageSize?: number;
  /** Read the member's local state: faster, works without a leader, possibly stale. */
  readonly serializable?: boolean;
}

export interface ActionOptions extends CallOptions {
  readonly fence?: Fence;
  /** Why; kept as status_message by reportError. */
  readonly reason?: string;
}

export interface WatchResourcesOptions extends WatchOptions {
  readonly filter?: ResourceFilter;
  /** Only this resource. */
  readonly resourceId?: string;
  /** Replay changes from this op-log sequence; unset = from now. */
  readonly sinceSequence?: number;
  /**
   * Replay changes made at this store revision or later; unset = from now.
   * At most one of sinceSequence and sinceRevision.
   */
  readonly sinceRevision?: number;
}

type ActionMethod = (typeof RESOURCES)["Start"];

export class ResourcesApi {
  constructor(private readonly invoker: Invoker) {}

  async create(input: CreateResourceInput, options: CallOptions = {}): Promise<Resource> {
    const request: cairn.v1.CreateResourceRequest.$Properties = {
      name: input.name,
      category: input.category ?? "",
      labels: { ...(input.labels ?? {}) },
      region: input.region ?? "",
      owner: input.owner ?? "",
      ...(input.server === undefined ? {} : { server: toServerSpec(input.server) }),
      ...(input.database === undefined ? {} : { database: toDatabaseSpec(input.database) }),
    };
    return this.write(RESOURCES.Create, request, options);
  }

  async get(id: string, options: CallOptions = {}): Promise<Resource> {
    const response = await this.invoker.unary(
      RESOURCES.Get,
      { id },
      { ...options, safety: "read" },
    );
    return fromResource(response.resource);
  }

  /** Pages of matching resources, every page read at the first page's revision. */
  list(options: ListResourcesOptions = {}): PageIterator<Resource> {
    const base: cairn.v1.ListResourcesRequest.$Properties = {
      filter: toResourceFilter(options.filter),
      sortBy: options.sortBy === undefined ? 0 : toSortField(options.sortBy),
      order: options.order === undefined ? 0 : toSortOrder(options.order),
      pageSize: options.pageSize ?? 0,
      serializable: options.serializable ?? false,
    };
    return new PageIterator(async (pageToken): Promise<Page<Resource>> => {
      const response = await this.invoker.unary(
        RESOURCES.List,
        { ...base, pageToken },
        { ...options, safety: "read", requireLeader: options.serializable !== true },
      );
      return {
        items: response.resources.map(fromResource),
        nextPageToken: response.nextPageToken,
        revision: response.readRevision,
      };
    });
  }

  /** Needs `expectedVersion` or `fence` (or both); ABORTED on a conflict. */
  async update(
    id: string,
    input: UpdateResourceInput,
    options: CallOptions = {},
  ): Promise<Resource> {
    const optional = <K extends string, V>(key: K, value: V | undefined) =>
      value === undefined ? {} : ({ [key]: value } as Record<K, V>);
    const request: cairn.v1.UpdateResourceRequest.$Properties = {
      id,
      expectedVersion: input.expectedVersion ?? 0,
      fence: toFence(input.fence),
      ...optional("name", input.name),
      ...optional("category", input.category),
      ...optional("region", input.region),
      ...optional("owner", input.owner),
      ...(input.labels === undefined ? {} : { labels: { labels: { ...input.labels } } }),
      ...(input.server === undefined ? {} : { server: toServerSpec(input.server) }),
      ...(input.database === undefined ? {} : { database: toDatabaseSpec(input.database) }),
    };
    return this.write(RESOURCES.Update, request, options);
  }

  /** provisioning/stopped/error → running. */
  start(id: string, options: ActionOptions = {}): Promise<Resource> {
    return this.action(RESOURCES.Start, id, options);
  }

  /** running/error → stopped. */
  stop(id: string, options: ActionOptions = {}): Promise<Resource> {
    return this.action(RESOURCES.Stop, id, options);
  }

  /** running → running, as a new version. */
  restart(id: string, options: ActionOptions = {}): Promise<Resource> {
    return this.action(RESOURCES.Restart, id, options);
  }

  /** stopped/error → deleted (final; the record stays). */
  delete(id: string, options: ActionOptions = {}): Promise<Resource> {
    return this.action(RESOURCES.Delete, id, options);
  }

  /** → error, keeping `reason` as the status message. */
  reportError(id: string, options: ActionOptions = {}): Promise<Resource> {
    return this.action(RESOURCES.ReportError, id, options);
  }

  /** Installs (or replaces) a package on a running resource. */
  install(
    id: string,
    software: { readonly name: string; readonly version: string },
    options: CallOptions & { readonly fence?: Fence } = {},
  ): Promise<Resource> {
    return this.write(
      RESOURCES.InstallSoftware,
      { id, name: software.name, version: software.version, fence: toFence(options.fence) },
      options,
    );
  }

  async stats(filter: ResourceFilter = {}, options: CallOptions = {}): Promise<ResourceStats> {
    const response = await this.invoker.unary(
      RESOURCES.Stats,
      { filter: toResourceFilter(filter) },
      { ...options, safety: "read" },
    );
    return {
      revision: response.header?.revision ?? 0,
      total: response.total,
      byKind: { ...response.byKind },
      byStatus: { ...response.byStatus },
      byRegion: { ...response.byRegion },
      byOwner: { ...response.byOwner },
      cpuTotal: response.cpuTotal,
      memoryMibTotal: response.memoryMibTotal,
      diskGibTotal: response.diskGibTotal,
    };
  }

  /**
   * Changes as they happen. Survives the loss of the member it reads from by
   * resuming after the last event's op-log sequence on another member (with
   * no event seen yet it resumes "from now", which may skip changes made
   * during the reconnect; pass `sinceSequence` to rule that out).
   */
  watch(options: WatchResourcesOptions = {}): Watch<ResourceEvent> {
    let since = options.sinceSequence ?? 0;
    // Until an event arrives the revision is the resume point; after one, its sequence is.
    let startRevision = options.sinceRevision ?? 0;
    return new WatchStream(
      this.invoker,
      {
        method: RESOURCES.Watch,
        request: () => ({
          filter: toResourceFilter(options.filter),
          resourceId: options.resourceId ?? "",
          sinceSequence: since,
          startRevision,
        }),
        items: (response) => {
          const events = response.events.map(fromResourceEvent);
          const last = events[events.length - 1];
          if (last !== undefined) {
            since = last.sequence + 1;
            startRevision = 0;
          }
          return events;
        },
      },
      options,
    );
  }

  private action(method: ActionMethod, id: string, options: ActionOptions): Promise<Resource> {
    return this.write(
      method,
      { id, fence: toFence(options.fence), reason: options.reason ?? "" },
      options,
    );
  }

  private async write<Req>(
    method: UnaryMethod<Req, cairn.v1.ResourceResponse>,
    request: Req,
    options: CallOptions,
  ): Promise<Resource> {
    const response = await this.invoker.unary(method, request, { ...options, safety: "write" });
    return fromResource(response.resource);
  }
}
