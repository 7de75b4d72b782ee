// cairn.v1.Resources: the inventory (servers, databases) and its lifecycle.
// Writes are pre-checked with the state machine's own validators (same
// messages), then proposed; apply re-checks everything, including the role,
// the expected version and the fence. Reads are answered from applied state,
// behind the authentication barrier unless the caller asked for serializable.
import type { Server } from "@grpc/grpc-js";
import { cairn } from "../../gen/cairn.js";
import {
  type LifecycleAction,
  validateFence,
  validateFields,
  validatePatch,
  validateSoftware,
} from "../../state/index.js";
import { addTypedService, serverStreamMethod, unaryMethod } from "../../transport/grpc-codec.js";
import { CairnError } from "../errors.js";
import { requireGrant } from "./auth.js";
import { currentHeader, header, type PlatformDeps } from "./deps.js";
import { authedUnary, type CallContext } from "./platform-call.js";
import { pageSize } from "./platform-codec.js";
import { expectResult, invalid, orThrow } from "./platform-errors.js";
import { authedStream, type PlatformStreams } from "./platform-stream.js";
import {
  fenceFromProto,
  fieldsFromCreate,
  filterFromProto,
  patchFromUpdate,
  resourceToProto,
  sortFromProto,
} from "./resource-codec.js";
import { watchResources } from "./resource-watch.js";

const R = cairn.v1;
const path = (method: string): string => `/cairn.v1.Resources/${method}`;
const action = (method: string) =>
  unaryMethod(path(method), R.ResourceActionRequest, R.ResourceResponse);

export const RESOURCES_SERVICE = {
  Create: unaryMethod(path("Create"), R.CreateResourceRequest, R.ResourceResponse),
  Get: unaryMethod(path("Get"), R.GetResourceRequest, R.ResourceResponse),
  List: unaryMethod(path("List"), R.ListResourcesRequest, R.ListResourcesResponse),
  Update: unaryMethod(path("Update"), R.UpdateResourceRequest, R.ResourceResponse),
  Start: action("Start"),
  Stop: action("Stop"),
  Restart: action("Restart"),
  Delete: action("Delete"),
  ReportError: action("ReportError"),
  InstallSoftware: unaryMethod(
    path("InstallSoftware"),
    R.InstallSoftwareRequest,
    R.ResourceResponse,
  ),
  Stats: unaryMethod(path("Stats"), R.ResourceStatsRequest, R.ResourceStatsResponse),
  Watch: serverStreamMethod(path("Watch"), R.WatchResourcesRequest, R.WatchResourcesResponse),
};

type ResourceResponse = cairn.v1.ResourceResponse.$Properties;

function firstInvalid(message: string | null): void {
  if (message !== null) throw invalid(message);
}

export class ResourceHandlers {
  constructor(private readonly deps: PlatformDeps) {}

  private get platform() {
    return this.deps.node.stateMachine.platform;
  }

  async create(
    request: cairn.v1.CreateResourceRequest,
    { caller }: CallContext,
  ): Promise<ResourceResponse> {
    requireGrant(caller, "resource.write");
    const fields = fieldsFromCreate(request);
    firstInvalid(validateFields(fields));
    this.deps.gate.admit("write");
    const result = await this.deps.node.propose({
      kind: "resource-create",
      actor: caller.username,
      fields,
    });
    const { ok } = expectResult(result, "resource-create");
    return { header: header(this.deps, ok.revision), resource: resourceToProto(ok.resource) };
  }

  async get(
    request: cairn.v1.GetResourceRequest,
    { caller }: CallContext,
  ): Promise<ResourceResponse> {
    requireGrant(caller, "resource.read");
    const resource = this.platform.getResource(request.id);
    if (resource === undefined) {
      throw new CairnError("NOT_FOUND", `resource ${JSON.stringify(request.id)} not found`);
    }
    return { header: currentHeader(this.deps), resource: resourceToProto(resource) };
  }

  async list(
    request: cairn.v1.ListResourcesRequest,
    { caller }: CallContext,
  ): Promise<cairn.v1.ListResourcesResponse.$Properties> {
    requireGrant(caller, "resource.read");
    const page = orThrow(
      this.platform.listResources({
        filter: filterFromProto(request.filter),
        ...sortFromProto(request.sortBy, request.order),
        pageSize: pageSize(request.pageSize),
        pageToken: request.pageToken,
      }),
    );
    return {
      header: header(this.deps, page.revision),
      resources: page.resources.map(resourceToProto),
      nextPageToken: page.nextPageToken,
      readRevision: page.revision,
    };
  }

  async update(
    request: cairn.v1.UpdateResourceRequest,
    { caller }: CallContext,
  ): Promise<ResourceResponse> {
    requireGrant(caller, "resource.write");
    const command = {
      kind: "resource-update",
      actor: caller.username,
      resourceId: request.id,
      expectedVersion: request.expectedVersion,
      fence: fenceFromProto(request.fence),
      patch: patchFromUpdate(request),
    } as const;
    firstInvalid(validateFence(command.fence) ?? validatePatch(command.patch));
    this.deps.gate.admit("write");
    const result = await this.deps.node.propose(command);
    const { ok } = expectResult(result, "resource-update");
    return { header: header(this.deps, ok.revision), resource: resourceToProto(ok.resource) };
  }

  async lifecycle(
    lifecycleAction: LifecycleAction,
    request: cairn.v1.ResourceActionRequest,
    { caller }: CallContext,
  ): Promise<ResourceResponse> {
    requireGrant(caller, "resource.write");
    const fence = fenceFromProto(request.fence);
    firstInvalid(validateFence(fence));
    // DELETED keeps the record, but a delete must still pass a NOSPACE alarm like any delete.
    this.deps.gate.admit(lifecycleAction === "delete" ? "delete" : "write");
    const result = await this.deps.node.propose({
      kind: "resource-lifecycle",
      actor: caller.username,
      resourceId: request.id,
      action: lifecycleAction,
      reason: request.reason,
      fence,
    });
    const { ok } = expectResult(result, "resource-lifecycle");
    return { header: header(this.deps, ok.revision), resource: resourceToProto(ok.resource) };
  }

  async install(
    request: cairn.v1.InstallSoftwareRequest,
    { caller }: CallContext,
  ): Promise<ResourceResponse> {
    requireGrant(caller, "resource.write");
    const software = { name: request.name, version: request.version };
    const fence = fenceFromProto(request.fence);
    firstInvalid(validateSoftware(software) ?? validateFence(fence));
    this.deps.gate.admit("write");
    const result = await this.deps.node.propose({
      kind: "resource-install",
      actor: caller.username,
      resourceId: request.id,
      software,
      fence,
    });
    const { ok } = expectResult(result, "resource-install");
    return { header: header(this.deps, ok.revision), resource: resourceToProto(ok.resource) };
  }

  async stats(
    request: cairn.v1.ResourceStatsRequest,
    { caller }: CallContext,
  ): Promise<cairn.v1.ResourceStatsResponse.$Properties> {
    requireGrant(caller, "resource.read");
    const stats = orThrow(this.platform.stats(filterFromProto(request.filter)));
    return {
      header: header(this.deps, stats.revision),
      total: stats.total,
      byKind: { ...stats.byKind },
      byStatus: { ...stats.byStatus },
      byRegion: { ...stats.byRegion },
      byOwner: { ...stats.byOwner },
      cpuTotal: stats.cpuTotal,
      memoryMibTotal: stats.memoryMibTotal,
      diskGibTotal: stats.diskGibTotal,
    };
  }
}

export function registerResourcesService(
  server: Server,
  deps: PlatformDeps & { readonly streams: PlatformStreams },
): void {
  const handlers = new ResourceHandlers(deps);
  const lifecycle = (lifecycleAction: LifecycleAction) =>
    authedUnary(deps, (r: cairn.v1.ResourceActionRequest, c) =>
      handlers.lifecycle(lifecycleAction, r, c),
    );
  addTypedService(server, RESOURCES_SERVICE, {
    Create: authedUnary(deps, (r, c) => handlers.create(r, c)),
    Get: authedUnary(deps, (r, c) => handlers.get(r, c)),
    List: authedUnary(
      deps,
      (r, c) => handlers.list(r, c),
      (r) => (r.serializable ? "serializable" : "linearizable"),
    ),
    Update: authedUnary(deps, (r, c) => handlers.update(r, c)),
    Start: lifecycle("start"),
    Stop: lifecycle("stop"),
    Restart: lifecycle("restart"),
    Delete: lifecycle("delete"),
    ReportError: lifecycle("fail"),
    InstallSoftware: authedUnary(deps, (r, c) => handlers.install(r, c)),
    Stats: authedUnary(deps, (r, c) => handlers.stats(r, c)),
    Watch: authedStream(deps, (r, c) => watchResources(deps, r, c)),
  });
}
